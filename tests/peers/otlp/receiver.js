// An OTLP/HTTP receiver for the tests. It decodes every request with the OpenTelemetry
// project's own generated protobuf code (@opentelemetry/otlp-transformer), never with the
// daemon's, and writes what it decoded as JSON lines:
//   {"kind":"request", "path", "contentType", "gzip", "records", "identical"}
//     identical: the protobuf body re-encoded by protobufjs is byte for byte what arrived
//   {"kind":"log", "resource":{...}, "scope", "time", "observed", "severityNumber",
//    "severityText", "body", "attributes":{...}}
//   {"kind":"metric", "resource":{...}, "name", "type", "monotonic", "temporality",
//    "points":[{"attributes", "time", "start", "value"}]}
// Usage: node receiver.js PORT OUT_FILE [--status N [--first K] [--retry-after S]] [--tls CERT KEY]
//   --status: answer N to every request (to the first K only, with --first), with a
//   Retry-After: S header when given; --tls: serve https with that certificate (chain) and key.
// Prints {"listening": PORT} once it accepts connections.
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const proto = root.opentelemetry.proto;
const LogsRequest = proto.collector.logs.v1.ExportLogsServiceRequest;
const MetricsRequest = proto.collector.metrics.v1.ExportMetricsServiceRequest;
const asObject = { longs: String, enums: Number, bytes: String, defaults: false };

const port = Number(process.argv[2]);
const outFile = process.argv[3];
const statusArg = process.argv.indexOf('--status');
const fixedStatus = statusArg > 0 ? Number(process.argv[statusArg + 1]) : 0;
const firstArg = process.argv.indexOf('--first');
let refusalsLeft = firstArg > 0 ? Number(process.argv[firstArg + 1]) : Infinity;
const retryArg = process.argv.indexOf('--retry-after');
const retryAfter = retryArg > 0 ? process.argv[retryArg + 1] : undefined;
const out = fs.openSync(outFile, 'a');

function attributes(list) {
  const o = {};
  for (const kv of list || []) {
    const v = kv.value || {};
    o[kv.key] = 'stringValue' in v ? v.stringValue : 'intValue' in v ? String(v.intValue)
      : 'doubleValue' in v ? v.doubleValue : 'boolValue' in v ? v.boolValue : v;
  }
  return o;
}

function logLines(req) {
  const lines = [];
  for (const rl of req.resourceLogs || []) {
    const resource = attributes(rl.resource && rl.resource.attributes);
    for (const sl of rl.scopeLogs || []) {
      for (const r of sl.logRecords || []) {
        lines.push({
          kind: 'log', resource, scope: sl.scope ? sl.scope.name : undefined,
          time: r.timeUnixNano, observed: r.observedTimeUnixNano,
          severityNumber: r.severityNumber, severityText: r.severityText,
          body: r.body ? r.body.stringValue : undefined,
          attributes: attributes(r.attributes),
        });
      }
    }
  }
  return lines;
}

function metricLines(req) {
  const lines = [];
  for (const rm of req.resourceMetrics || []) {
    const resource = attributes(rm.resource && rm.resource.attributes);
    for (const sm of rm.scopeMetrics || []) {
      for (const m of sm.metrics || []) {
        const data = m.sum || m.gauge || m.histogram || {};
        lines.push({
          kind: 'metric', resource, scope: sm.scope ? sm.scope.name : undefined,
          name: m.name, description: m.description,
          type: m.sum ? 'sum' : m.gauge ? 'gauge' : m.histogram ? 'histogram' : 'other',
          monotonic: m.sum ? Boolean(m.sum.isMonotonic) : undefined,
          temporality: (m.sum || m.histogram || {}).aggregationTemporality,
          points: (data.dataPoints || []).map((p) => ({
            attributes: attributes(p.attributes), time: p.timeUnixNano, start: p.startTimeUnixNano,
            value: 'asDouble' in p ? p.asDouble : 'asInt' in p ? Number(p.asInt) : undefined,
            count: p.count, sum: p.sum, bucketCounts: p.bucketCounts, explicitBounds: p.explicitBounds,
          })),
        });
      }
    }
  }
  return lines;
}

const tlsArg = process.argv.indexOf('--tls');
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    const gzip = req.headers['content-encoding'] === 'gzip';
    const contentType = req.headers['content-type'] || '';
    const record = { kind: 'request', path: req.url, contentType, gzip, headers: req.headers,
                     at: Date.now() };
    if (fixedStatus && refusalsLeft > 0) {
      refusalsLeft -= 1;
      fs.writeSync(out, JSON.stringify({ ...record, answered: fixedStatus }) + '\n');
      const headers = { 'Content-Type': 'text/plain' };
      if (retryAfter !== undefined) headers['Retry-After'] = retryAfter;
      res.writeHead(fixedStatus, headers);
      res.end('refused by the test\n');
      return;
    }
    try {
      if (gzip) body = zlib.gunzipSync(body);
      const Type = req.url === '/v1/metrics' ? MetricsRequest : LogsRequest;
      let message;
      if (contentType === 'application/x-protobuf') {
        message = Type.decode(body);
        record.identical = Buffer.from(Type.encode(message).finish()).equals(body);
      } else if (contentType === 'application/json') {
        // OTLP's JSON mapping read by protobufjs' own converter, then checked by a round trip
        // through the binary encoding.
        message = Type.fromObject(JSON.parse(body.toString('utf8')));
        message = Type.decode(Type.encode(message).finish());
      } else {
        throw new Error('unexpected Content-Type ' + contentType);
      }
      const obj = Type.toObject(message, asObject);
      const lines = req.url === '/v1/metrics' ? metricLines(obj) : logLines(obj);
      record.records = lines.length;
      let text = JSON.stringify(record) + '\n';
      for (const l of lines) text += JSON.stringify(l) + '\n';
      fs.writeSync(out, text);
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(contentType === 'application/json' ? '{}' : '');
    } catch (e) {
      fs.writeSync(out, JSON.stringify({ ...record, error: String(e) }) + '\n');
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(String(e));
    }
  });
};
const server = tlsArg > 0
  ? https.createServer({ cert: fs.readFileSync(process.argv[tlsArg + 1]),
                         key: fs.readFileSync(process.argv[tlsArg + 2]) }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n');
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
