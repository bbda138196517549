// npm start: every service, the payment gateway simulator and the dev mail
// catcher as separate processes, against the local RabbitMQ and PostgreSQL.
// Each service creates its database/schema and applies its migrations itself.
// Ready when every /health/ready answers 200. Ctrl-C stops everything.
import harness from '../apps/system-e2e/dist/system.js';

const { System, SERVICE_NAMES, DEFAULT_PORTS, ADMIN_TOKEN } = harness;
const env = process.env;
const portVar = (name) => `${name.toUpperCase().replace(/-/g, '_')}_PORT`;
const ports = Object.fromEntries(SERVICE_NAMES.map((n) => [n, Number(env[portVar(n)] ?? DEFAULT_PORTS[n])]));
const colors = [36, 33, 35, 32, 34, 31];

const sys = new System({
  ports,
  smtpPort: Number(env.SMTP_PORT ?? 1025),
  databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders',
  mqPrefix: env.MQ_PREFIX ?? 'orders',
  env: { NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: 'true' },
  readyTimeoutMs: 120000,
  onLine: (n, line) => process.stdout.write(`\x1b[${colors[SERVICE_NAMES.indexOf(n)]}m${n.padEnd(20)}\x1b[0m ${line}\n`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  await sys.stop();
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
  for (const n of SERVICE_NAMES) await sys.launch(n);
  await Promise.all(SERVICE_NAMES.map((n) => sys.waitReady(n)));
  await seed();
  process.stdout.write(
    [
      '',
      'ready:',
      `  storefront API    http://localhost:${ports['order-receiving']}  (API keys: demo-key, acme-key; OpenAPI UI /docs)`,
      `  inventory admin   http://localhost:${ports.inventory}  (Authorization: Bearer ${ADMIN_TOKEN})`,
      `  promotions admin  http://localhost:${ports['order-processing']}`,
      `  notification      http://localhost:${ports.notification}`,
      `  payment gateway   http://localhost:${ports['payment-gateway-sim']}  (PUT /control)`,
      `  mail catcher      http://localhost:${ports['mail-catcher']}/api/v1/messages  (SMTP ${sys.smtpPort})`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (e) {
  process.stderr.write(`start-up failed: ${e.message}\n`);
  await stop(1);
}
