// A Node client of the router: Route() a task, ReportUsage() for the call, and read the details
// of a refused call (an INVALID_ARGUMENT's google.rpc.BadRequest) from its trailers.
//
//   cd examples/node && npm ci && ROUTER_API_KEY=rk_... node index.js [127.0.0.1:50051]
//
// The router's protos come from this repository (protos/router/v1/*.proto); google.rpc.Status and
// error_details.proto, which the router's error details use, come from the google-proto-files
// package (the googleapis common protos).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const googleProtos = require('google-proto-files');

const PROTOS = path.resolve(__dirname, '..', '..', 'protos');
const GOOGLE = path.dirname(googleProtos.getProtoPath()); // holds google/rpc/, google/protobuf/
const address = process.argv[2] || process.env.ROUTER_ADDRESS || '127.0.0.1:50051';

// The router service, its messages as plain objects with the protos' field names.
const files = fs.readdirSync(path.join(PROTOS, 'router', 'v1'))
  .filter((f) => f.endsWith('.proto')).map((f) => `router/v1/${f}`);
const definition = protoLoader.loadSync(files, {
  includeDirs: [PROTOS, GOOGLE], keepCase: true, longs: String, enums: String, defaults: true,
});
const { router } = grpc.loadPackageDefinition(definition);
const client = new router.v1.Router(address, grpc.credentials.createInsecure());

// google.rpc.Status and the detail messages, to decode the grpc-status-details-bin trailer.
const rpc = new protobuf.Root();
rpc.resolvePath = (origin, target) => path.join(GOOGLE, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
const Status = rpc.lookupType('google.rpc.Status');
const BadRequest = rpc.lookupType('google.rpc.BadRequest');

// The team's API key, sent as `authorization: Bearer <key>` on every call (a server that runs
// open, on loopback with no key made yet, takes calls without one).
const metadata = new grpc.Metadata();
if (process.env.ROUTER_API_KEY) metadata.set('authorization', `Bearer ${process.env.ROUTER_API_KEY}`);

function call(method, request) {
  const deadline = new Date(Date.now() + 10_000);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline },
      (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

function money(m) { // Money{currency_code, nanos}: integer nano-units of the currency
  const nanos = BigInt(m ? m.nanos : 0);
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / 1_000_000_000n}${frac ? `.${frac}` : ''} ${m ? m.currency_code : ''}`;
}

// The google.rpc.Status a failed call carries, or null when it has none.
function statusOf(err) {
  const [bin] = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  return bin ? Status.decode(bin) : null;
}

function printError(err) {
  console.log(`${grpc.status[err.code]}: ${err.details}`);
  const status = statusOf(err);
  for (const detail of status ? status.details : []) {
    if (detail.type_url.endsWith('/google.rpc.BadRequest')) {
      for (const v of BadRequest.decode(detail.value).field_violations) {
        console.log(`  field violation: ${v.field}: ${v.description}`);
      }
    } else {
      console.log(`  detail: ${detail.type_url}`);
    }
  }
}

async function main() {
  // new ids on every run: a replayed request_id would get its first answer back
  const run = Math.random().toString(16).slice(2, 10);
  const decision = await call('Route', {
    request_id: `node-${run}-step-1`,
    task_description: 'Summarise this support ticket in two sentences and tag its product area.',
    attribution: { team: 'support', agent: 'triage', task_id: `ticket-${run}`, user: 'ana' },
  });
  console.log(`Route: ${decision.model} (${decision.provider}), predicted `
    + `${money(decision.predicted.cost)}: ${decision.reason.message}`);

  const receipt = await call('ReportUsage', {
    usage_id: `node-${run}-step-1-call-1`,
    decision_id: decision.decision_id,
    tokens: { input: decision.predicted.input_tokens, output: decision.predicted.output_tokens },
    outcome: 'OUTCOME_SUCCESS',
  });
  console.log(`ReportUsage: cost ${money(receipt.cost.total)}`);

  try { // a quality target outside [0, 1]: INVALID_ARGUMENT with a BadRequest naming the field
    await call('Route', { task_description: 'anything', quality_target: 1.5 });
    console.log('Route with quality_target 1.5 was accepted');
    return 1;
  } catch (err) {
    if (err.code !== grpc.status.INVALID_ARGUMENT) throw err;
    printError(err);
  }
  return 0;
}

main().then((code) => { client.close(); process.exitCode = code; }, (err) => {
  client.close();
  if (err.code !== undefined) printError(err); else console.error(err);
  process.exitCode = 1;
});
