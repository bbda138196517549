// Counts a service's round trips to PostgreSQL, by statement shape, for the bench:
//   SERVICE_NODE_ARGS="--require ./tools/pg-round-trips.cjs" BENCH_ONLY=flood npm run bench
// Each service process writes <PG_ROUND_TRIPS_DIR or /tmp/pg-round-trips>/<service>.txt every 2 s and at exit:
// its total (one pg Client.query call is one round trip), then the most frequent shapes, literals as `?`, numbers as
// `N`, a multi-statement message as its statements joined by ` ; ` (S: simple protocol, X: with parameters, N: named).
// Divide by the orders the run placed (the bench prints them) for round trips per order. A measuring aid, never
// loaded by the services themselves.
const fs = require('node:fs');
const path = require('node:path');

const { Client } = require(require.resolve('pg', { paths: [process.cwd()] }));
const dir = process.env.PG_ROUND_TRIPS_DIR || '/tmp/pg-round-trips';
const shapes = new Map();
let total = 0;

const shape = (text) => String(text).replace(/'(?:[^']|'')*'/g, '?').replace(/\b\d+(\.\d+)?\b/g, 'N').replace(/\s+/g, ' ');
const original = Client.prototype.query;
Client.prototype.query = function (config, values) {
  total++;
  const text = typeof config === 'string' ? config : (config && (config.text || config.name)) || '?';
  const kind = typeof config === 'object' && config && config.name ? 'N' : values || (config && config.values) ? 'X' : 'S';
  const parts = shape(text).split(';').map((s) => s.trim()).filter(Boolean).map((s) => s.slice(0, 70));
  const key = `${kind} [${parts.length}] ${parts.join(' ; ').slice(0, 230)}`;
  shapes.set(key, (shapes.get(key) || 0) + 1);
  return original.apply(this, arguments);
};

const service = path.basename(path.dirname(path.dirname(process.argv[1] || 'unknown/dist/x')));
const dump = () => {
  const top = [...shapes].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, n]) => `${n}\t${k}`);
  fs.writeFileSync(path.join(dir, `${service}.txt`), `round trips ${total}\n${top.join('\n')}\n`);
};
fs.mkdirSync(dir, { recursive: true });
setInterval(dump, 2000).unref();
process.on('exit', dump);
