#!/usr/bin/env python3
"""Writes fuzz seed corpora from the spec's checked vectors (spec/vectors/vectors.json)."""
import json, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
vectors = os.path.join(here, "..", "..", "shared", "spec", "vectors", "vectors.json")
if not os.path.exists(vectors):
    vectors = os.path.join(here, "..", "tests", "protocol", "data", "vectors.json")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
vs = json.load(open(vectors))

def sdu(proto, m, payload):
    return struct.pack(">IHH", 0, proto | (0x8000 if m else 0), len(payload)) + payload

targets = {
    "fuzz_handshake": lambda n: n.startswith("MsgProposeVersions") or n.startswith("MsgAcceptVersion") or n.startswith("MsgRefuse"),
    "fuzz_trace_objects": lambda n: "TraceObject" in n,
    "fuzz_ekg": lambda n: n.startswith("MsgReq") or n.startswith("MsgResp") or n == "EKG MsgDone",
    "fuzz_data_points": lambda n: "DataPoints" in n,
}
for t, pred in targets.items():
    d = os.path.join(out, t)
    os.makedirs(d, exist_ok=True)
    for i, v in enumerate(vs):
        if pred(v["name"]):
            open(os.path.join(d, f"seed{i}"), "wb").write(bytes.fromhex(v["hex"]))
d = os.path.join(out, "fuzz_demuxer")
os.makedirs(d, exist_ok=True)
proto_of = lambda n: 0 if ("Versions" in n or "Refuse" in n) else 2 if "TraceObject" in n else 3 if "DataPoints" in n else 1
for i, v in enumerate(vs):
    p = bytes.fromhex(v["hex"])
    open(os.path.join(d, f"seed{i}"), "wb").write(bytes([0x07]) + sdu(proto_of(v["name"]), False, p))
    open(os.path.join(d, f"seed{i}m"), "wb").write(bytes([0x86]) + sdu(proto_of(v["name"]), True, p) * 2)
