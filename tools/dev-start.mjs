// npm start: every service, the payment gateway simulator and the dev mail
// catcher as separate processes, against the local RabbitMQ and PostgreSQL.
// Each service creates its database/schema and applies its migrations itself.
// REPLICAS=N runs N instances of each of the four services (instance i on its
// port + 100·i), sharing the broker and the database.
// Ready when every instance's /health/ready answers 200. Ctrl-C stops the
// services one at a time in reverse start order (SIGTERM, wait for the exit).
import harness from '../apps/system-e2e/dist/system.js';

const { System, SERVICE_NAMES, DEFAULT_PORTS, ADMIN_TOKEN } = harness;
const SCALED = ['inventory', 'order-processing', 'notification', 'order-receiving'];
const env = process.env;
const replicas = Number(env.REPLICAS ?? 1);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 9) {
  process.stderr.write('REPLICAS must be a whole number from 1 to 9\n');
  process.exit(2);
}
const portVar = (name) => `${name.toUpperCase().replace(/-/g, '_')}_PORT`;
const ports = Object.fromEntries(SERVICE_NAMES.map((n) => [n, Number(env[portVar(n)] ?? DEFAULT_PORTS[n])]));
const colors = [36, 33, 35, 32, 34, 31, 96];

const sys = new System({
  ports,
  smtpPort: Number(env.SMTP_PORT ?? 1025),
  databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders',
  mqPrefix: env.MQ_PREFIX ?? 'orders',
  env: { NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: 'true' },
  readyTimeoutMs: 120000,
  ownProcessGroup: true,
  onLine: (n, line) => process.stdout.write(`\x1b[${colors[SERVICE_NAMES.indexOf(n)]}m${n.padEnd(20)}\x1b[0m ${line}\n`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  await sys.stop({ inOrder: true, timeoutMs: 20000, onStopped: (n, url) => process.stdout.write(`stopped ${n} ${url}\n`) });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
sys.onUnexpectedExit = (n, code, signal) => {
  process.stderr.write(`${n} exited (${signal ?? code}); stopping everything\n`);
  void stop(1);
};

async function seed() {
  // A demo catalogue and coupon, created only when absent, so the README's walk-through works at once.
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const products = [
    ['SKU-TSHIRT', { name: 'T-shirt', priceCents: 1999, currency: 'EUR', stock: 1000 }],
    ['SKU-MUG', { name: 'Mug', priceCents: 899, currency: 'EUR', stock: 500 }],
    ['SKU-POSTER', { name: 'Signed poster', priceCents: 4999, currency: 'EUR', stock: 1 }],
  ];
  for (const [sku, body] of products) {
    const url = `${sys.url('inventory')}/products/${sku}`;
    if ((await fetch(url, { headers: auth })).status === 404) await fetch(url, { method: 'PUT', headers: auth, body: JSON.stringify(body) });
  }
  const promo = `${sys.url('order-processing')}/promotions/WELCOME10`;
  if ((await fetch(promo, { headers: auth })).status === 404) {
    await fetch(promo, { method: 'PUT', headers: auth, body: JSON.stringify({ type: 'percent', value: 10 }) });
  }
}

try {
  await sys.init();
  const ready = [];
  for (const n of SERVICE_NAMES) {
    await sys.launch(n);
    ready.push(sys.waitReady(n));
    if (SCALED.includes(n)) for (let i = 1; i < replicas; i++) ready.push((await sys.startReplica(n, ports[n] + 100 * i)).ready);
  }
  await Promise.all(ready);
  await seed();
  const urls = (n) => sys.instanceUrls(n).map((u) => u.replace('127.0.0.1', 'localhost')).join('  ');
  process.stdout.write(
    [
      '',
      'ready:',
      `  storefront API    ${urls('order-receiving')}  (API keys: demo-key, acme-key; OpenAPI UI /docs)`,
      `  inventory admin   ${urls('inventory')}  (Authorization: Bearer ${ADMIN_TOKEN})`,
      `  promotions admin  ${urls('order-processing')}`,
      `  notification      ${urls('notification')}`,
      `  payment gateway   http://localhost:${ports['payment-gateway-sim']}  (PUT /control)`,
      `  mail catcher      http://localhost:${ports['mail-catcher']}/api/v1/messages  (SMTP ${sys.smtpPort})`,
      `  demo storefront   http://localhost:${ports['storefront-demo']}  (a shop page that places and follows orders)`,
      `  AsyncAPI          http://localhost:${ports['order-receiving']}/asyncapi.json  (message contracts)`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (e) {
  process.stderr.write(`start-up failed: ${e.message}\n`);
  await stop(1);
}
