#include "protocol/describe.hpp"

#include "protocol/cbor_reader.hpp"
#include "protocol/data_points_codec.hpp"
#include "protocol/ekg_codec.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace ct::protocol {

std::string describe_message(std::uint16_t protocol, std::string_view msg) {
    cbor_reader r(msg);
    std::uint64_t len = 0, tag = 0;
    if (r.read_definite_array(len) || r.read_uint(tag)) return "undecodable message";
    switch (protocol) {
        case mini_protocol::handshake:
            if (tag == 0) return "MsgProposeVersions";
            if (tag == 1) return "MsgAcceptVersion";
            if (tag == 2) return "MsgRefuse";
            return "unknown handshake message";
        case mini_protocol::ekg:
            if (tag == 1 && len == 1) return "MsgDone";
            if (tag == 0) {
                auto req = decode_ekg_request(msg);
                if (!req) return "MsgReq (undecodable)";
                if (req->kind == ekg_request_kind::get_all) return "MsgReq GetAllMetrics";
                if (req->kind == ekg_request_kind::get_updated) return "MsgReq GetUpdatedMetrics";
                return "MsgReq GetMetrics (" + std::to_string(req->names.size()) + " names)";
            }
            if (tag == 1) {
                ekg_response_view v;
                if (decode_ekg_response(msg, v)) return "MsgResp (undecodable)";
                return "MsgResp ResponseMetrics (" + std::to_string(v.entries.size()) + " metrics)";
            }
            return "unknown EKG message";
        case mini_protocol::trace_objects:
            if (tag == 1) {
                auto req = decode_trace_objects_request(msg);
                if (!req) return "MsgTraceObjectsRequest (undecodable)";
                return std::string("MsgTraceObjectsRequest ") +
                       (req->blocking ? "blocking " : "non-blocking ") + std::to_string(req->count);
            }
            if (tag == 2) return "MsgDone";
            if (tag == 3) {
                trace_objects_reply_decoder d;
                std::vector<trace_object_view> objs;
                if (d.decode(msg, objs)) return "MsgTraceObjectsReply (undecodable)";
                std::string s = "MsgTraceObjectsReply (" + std::to_string(objs.size()) + " objects";
                if (!objs.empty()) s += ", first " + std::string(objs.front().ns);
                return s + ")";
            }
            return "unknown TraceObjects message";
        case mini_protocol::data_points:
            if (tag == 1) {
                auto req = decode_data_points_request(msg);
                if (!req) return "MsgDataPointsRequest (undecodable)";
                std::string s = "MsgDataPointsRequest [";
                for (std::size_t i = 0; i < req->names.size(); ++i) {
                    s += (i ? ", " : "") + std::string(req->names[i]);
                }
                return s + "]";
            }
            if (tag == 2) return "MsgDone";
            if (tag == 3) {
                data_points_reply_view v;
                if (decode_data_points_reply(msg, v)) return "MsgDataPointsReply (undecodable)";
                std::string s = "MsgDataPointsReply [";
                for (std::size_t i = 0; i < v.values.size(); ++i) {
                    s += (i ? ", " : "") + std::string(v.values[i].first) +
                         (v.values[i].second ? "" : " (absent)");
                }
                return s + "]";
            }
            return "unknown DataPoints message";
        default:
            return "message of unknown protocol " + std::to_string(protocol);
    }
}

}  // namespace ct::protocol
