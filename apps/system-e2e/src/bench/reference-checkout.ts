import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { escapeLiteral as lit, Pool, PoolClient, QueryResult } from 'pg';

/**
 * The synchronous checkout the platform is compared with (npm run bench,
 * "checkout compared"): one Fastify process doing the same business in the
 * request. Per POST /orders:
 *  1. one transaction: lock the products in sku order, check availability,
 *     read the prices, reserve the units and insert the order (PROCESSING);
 *     out of stock: the order is inserted REJECTED with its email row, and
 *     that is the answer;
 *  2. the payment gateway (the bench's payment-gateway-sim): authorize, then
 *     capture, over keep-alive HTTP with idempotency keys as the platform's
 *     gateway client sends them;
 *  3. one transaction: the outcome (CONFIRMED with the units sold, or
 *     REJECTED with the reservation released) and an email outbox row;
 * answering 200 with the order (id, status, totals). Each transaction is one
 * or two round trips (BEGIN with the first statement, COMMIT with the last,
 * literals through the simple query protocol), as the platform's are; no
 * connection is held during the gateway calls. Not done: an email relay (the
 * row is only written), promotions, a read model, push, retries of a failed
 * gateway call (it ends REJECTED payment_unavailable).
 *
 * Env: DATABASE_URL (an empty database of its own; the bench inserts the
 * products), GATEWAY_URL, PORT, POOL_SIZE (16). Prints "listening" when ready.
 */
const TENANTS = new Map([['Bearer demo-key', 'demo'], ['Bearer acme-key', 'acme']]);

interface Line { sku: string; quantity: number }
interface OrderIn { customer: { id: string; email: string; name: string }; items: Line[]; shipping: object; token: string }
interface Priced { sku: string; price_cents: string; currency: string; available: number }
interface OrderOut { id: string; status: string; totals: { subtotalCents: number; discountCents: number; totalCents: number; currency: string } | null; rejectionReason?: string }

const isStr = (v: unknown, max = 500): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields the checkout uses, checked for shape (the platform validates every field; this is the minimum). */
function parseOrder(b: unknown): OrderIn | undefined {
  if (!isObj(b) || !isObj(b.customer) || !Array.isArray(b.items) || !isObj(b.payment) || !isObj(b.shippingAddress)) return undefined;
  const c = b.customer;
  if (!isStr(c.id) || !isStr(c.email) || !isStr(c.name) || !isStr(b.payment.token) || b.items.length < 1 || b.items.length > 50) return undefined;
  const qty = new Map<string, number>();
  for (const it of b.items as unknown[]) {
    if (!isObj(it) || !isStr(it.sku, 100) || typeof it.quantity !== 'number' || !Number.isInteger(it.quantity) || it.quantity < 1 || it.quantity > 1000) return undefined;
    qty.set(it.sku, (qty.get(it.sku) ?? 0) + it.quantity);
  }
  const items = [...qty].map(([sku, quantity]) => ({ sku, quantity })).sort((x, y) => (x.sku < y.sku ? -1 : x.sku > y.sku ? 1 : 0));
  return { customer: { id: c.id, email: c.email, name: c.name }, items, shipping: b.shippingAddress, token: b.payment.token };
}

const gatewayAgent = new Agent({ keepAlive: true, maxSockets: 64 });

function gateway(base: URL, path: string, body: object, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const raw = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname, port: base.port, path, method: 'POST', agent: gatewayAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw), 'idempotency-key': key },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(data);
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: isObj(parsed) ? parsed : {} });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('gateway timed out')));
    req.on('error', reject);
    req.end(raw);
  });
}

/** VALUES rows (sku, qty) as literals. */
const values = (items: Line[]) => items.map((l) => `(${lit(l.sku)}, ${l.quantity})`).join(', ');
/** The products of `items` locked in sku order, then updated by `set` (x.qty is the line's quantity). */
const moveStock = (items: Line[], set: string) => `
  WITH l AS (SELECT sku FROM products WHERE sku IN (${items.map((l) => lit(l.sku)).join(', ')}) ORDER BY sku FOR UPDATE)
  UPDATE products p SET ${set}, updated_at = now() FROM (VALUES ${values(items)}) AS x(sku, qty), l WHERE p.sku = x.sku AND l.sku = x.sku`;
const emailRow = (id: string, o: OrderIn, out: OrderOut) =>
  `INSERT INTO email_outbox (order_id, recipient, template, payload) VALUES (${lit(id)}, ${lit(o.customer.email)}, ${lit(`order-${out.status.toLowerCase()}`)}, ${lit(JSON.stringify({ name: o.customer.name, ...out }))}::jsonb)`;

async function main(): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const pool = new Pool({ connectionString: env('DATABASE_URL'), max: Number(process.env.POOL_SIZE ?? 16) });
  const gw = new URL(env('GATEWAY_URL'));
  await pool.query(`
    CREATE TABLE IF NOT EXISTS products (
      sku text PRIMARY KEY, name text NOT NULL, price_cents bigint NOT NULL CHECK (price_cents >= 0), currency char(3) NOT NULL,
      stock integer NOT NULL CHECK (stock >= 0), reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= stock),
      updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS orders (
      id uuid PRIMARY KEY, tenant text NOT NULL, idempotency_key text NOT NULL, customer jsonb NOT NULL, items jsonb NOT NULL,
      shipping jsonb NOT NULL, status text NOT NULL, reject_reason text, subtotal_cents bigint, total_cents bigint, currency char(3),
      authorization_id text, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant, idempotency_key));
    CREATE TABLE IF NOT EXISTS email_outbox (
      seq bigserial PRIMARY KEY, order_id uuid NOT NULL, recipient text NOT NULL, template text NOT NULL, payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);

  /** Several statements in one message (one round trip); the result of each. */
  const multi = async (c: PoolClient, sql: string): Promise<QueryResult[]> => {
    const r = (await c.query(sql)) as QueryResult | QueryResult[];
    return Array.isArray(r) ? r : [r];
  };
  const inTx = async <T>(fn: (c: PoolClient) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    try {
      return await fn(c);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  };

  const existing = async (tenant: string, key: string): Promise<OrderOut | undefined> => {
    const { rows } = await pool.query<{ id: string; status: string; subtotal_cents: string | null; total_cents: string | null; currency: string | null; reject_reason: string | null }>(
      'SELECT id, status, subtotal_cents, total_cents, currency, reject_reason FROM orders WHERE tenant = $1 AND idempotency_key = $2', [tenant, key]);
    const r = rows[0];
    if (!r) return undefined;
    const totals = r.total_cents === null ? null : { subtotalCents: Number(r.subtotal_cents), discountCents: 0, totalCents: Number(r.total_cents), currency: r.currency ?? '' };
    return { id: r.id, status: r.status, totals, ...(r.reject_reason ? { rejectionReason: r.reject_reason } : {}) };
  };

  async function checkout(tenant: string, key: string, o: OrderIn): Promise<OrderOut> {
    const id = randomUUID();
    const orderRow = (status: string, reason: string | null, total: number | null, currency: string | null) =>
      `INSERT INTO orders (id, tenant, idempotency_key, customer, items, shipping, status, reject_reason, subtotal_cents, total_cents, currency)
       VALUES (${lit(id)}, ${lit(tenant)}, ${lit(key)}, ${lit(JSON.stringify(o.customer))}::jsonb, ${lit(JSON.stringify(o.items))}::jsonb,
               ${lit(JSON.stringify(o.shipping))}::jsonb, ${lit(status)}, ${reason === null ? 'NULL' : lit(reason)}, ${total ?? 'NULL'}, ${total ?? 'NULL'}, ${currency === null ? 'NULL' : lit(currency)})`;

    // 1. lock, check, price, reserve, insert: one transaction, two round trips
    const reserved = await inTx(async (c) => {
      const [, locked] = await multi(c, `BEGIN; SELECT sku, price_cents, currency, stock - reserved AS available FROM products
        WHERE sku IN (${o.items.map((l) => lit(l.sku)).join(', ')}) ORDER BY sku FOR UPDATE`);
      const rows = locked.rows as Priced[];
      const currencies = new Set(rows.map((r) => r.currency));
      const short = rows.length !== o.items.length || currencies.size !== 1 || o.items.some((l) => (rows.find((r) => r.sku === l.sku)?.available ?? 0) < l.quantity);
      if (short) {
        const out: OrderOut = { id, status: 'REJECTED', totals: null, rejectionReason: 'out_of_stock' };
        await multi(c, `${orderRow('REJECTED', 'out_of_stock', null, null)}; ${emailRow(id, o, out)}; COMMIT`);
        return out;
      }
      const total = o.items.reduce((s, l) => s + Number(rows.find((r) => r.sku === l.sku)?.price_cents ?? 0) * l.quantity, 0);
      const currency = rows[0].currency;
      await multi(c, `UPDATE products p SET reserved = p.reserved + x.qty, updated_at = now() FROM (VALUES ${values(o.items)}) AS x(sku, qty) WHERE p.sku = x.sku;
        ${orderRow('PROCESSING', null, total, currency)}; COMMIT`);
      return { total, currency };
    });
    if ('status' in reserved) return reserved;
    const totals = { subtotalCents: reserved.total, discountCents: 0, totalCents: reserved.total, currency: reserved.currency };

    // 2. the gateway, no connection held
    let authorizationId: string | undefined;
    let reason: string | undefined;
    try {
      const auth = await gateway(gw, '/authorizations', { orderId: id, amountCents: reserved.total, currency: reserved.currency, token: o.token }, `${id}:authorize`);
      if ((auth.status === 200 || auth.status === 201) && typeof auth.body.id === 'string') authorizationId = auth.body.id;
      else reason = auth.status === 402 ? 'payment_declined' : auth.status === 400 || auth.status === 422 ? 'payment_invalid' : 'payment_unavailable';
      if (authorizationId) {
        const cap = await gateway(gw, `/authorizations/${encodeURIComponent(authorizationId)}/capture`, { orderId: id }, `${id}:capture`);
        if (cap.status !== 200) throw new Error(`capture answered ${cap.status}`);
      }
    } catch (e) {
      console.error(`gateway: ${(e as Error).message}`);
      if (!authorizationId) reason = 'payment_unavailable';
      else throw e; // authorized but not captured: left PROCESSING with its reservation (a real checkout would void or retry)
    }

    // 3. the outcome and the email: one transaction, one round trip
    const out: OrderOut = reason ? { id, status: 'REJECTED', totals, rejectionReason: reason } : { id, status: 'CONFIRMED', totals };
    const stock = reason ? moveStock(o.items, 'reserved = p.reserved - x.qty') : moveStock(o.items, 'stock = p.stock - x.qty, reserved = p.reserved - x.qty');
    await inTx((c) => multi(c, `BEGIN;
      UPDATE orders SET status = ${lit(out.status)}, reject_reason = ${reason ? lit(reason) : 'NULL'}, authorization_id = ${authorizationId ? lit(authorizationId) : 'NULL'}, updated_at = now() WHERE id = ${lit(id)};
      ${stock}; ${emailRow(id, o, out)}; COMMIT`));
    return out;
  }

  const app = Fastify({ logger: false });
  app.post('/orders', async (req, reply) => {
    const tenant = TENANTS.get(req.headers.authorization ?? '');
    if (!tenant) return reply.code(401).send({ error: 'unauthorized' });
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key || key.length > 255) return reply.code(400).send({ error: 'Idempotency-Key is required' });
    const order = parseOrder(req.body);
    if (!order) return reply.code(400).send({ error: 'invalid order' });
    try {
      return reply.code(200).send(await checkout(tenant, key, order));
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        const seen = await existing(tenant, key); // the same Idempotency-Key again: the order it made
        if (seen) return reply.code(200).send(seen);
      }
      console.error(`checkout: ${(e as Error).message}`);
      return reply.code(500).send({ error: 'internal' });
    }
  });
  await app.listen({ port: Number(env('PORT')), host: '127.0.0.1' });
  console.log('listening');
  process.on('SIGTERM', () => {
    void (async () => {
      await app.close();
      gatewayAgent.destroy();
      await pool.end();
      process.exit(0);
    })();
  });
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
