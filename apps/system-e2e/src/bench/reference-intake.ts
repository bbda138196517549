import * as amqp from 'amqplib';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';

/**
 * The bare intake the benchmark compares order-receiving with: Fastify, one
 * statement per order that writes the order and its outbox row in one
 * transaction and NOTIFYs, and a relay that publishes outbox rows with
 * publisher confirms before deleting them. No validation, idempotency keys,
 * tenants, metrics or logs: what any intake must at least do.
 *
 * Env: DATABASE_URL (an empty database of its own), RABBITMQ_URL, QUEUE (a
 * queue it declares and publishes to), PORT. Prints "listening" when ready.
 */
const INSERT = `
  WITH o AS (INSERT INTO ref_orders (id, tenant, body) VALUES ($1, $2, $3::jsonb) RETURNING id),
       ob AS (INSERT INTO ref_outbox (id, body) SELECT $4::uuid, $5 FROM o)
  SELECT pg_notify('ref_outbox', '')`;

async function main(): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const pool = new Pool({ connectionString: env('DATABASE_URL'), max: 16 });
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ref_orders (id uuid PRIMARY KEY, tenant text NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS ref_outbox (seq bigserial PRIMARY KEY, id uuid NOT NULL, body text NOT NULL)`);

  const conn = await amqp.connect(env('RABBITMQ_URL'), { noDelay: true });
  const ch = await conn.createConfirmChannel();
  const queue = env('QUEUE');
  await ch.assertQueue(queue, { durable: true });

  // relay: woken by NOTIFY, publishes batches with confirms, deletes them in the same transaction
  let running = false;
  let again = false;
  const relay = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          const { rows } = await c.query<{ id: string; body: string }>(
            'DELETE FROM ref_outbox WHERE seq IN (SELECT seq FROM ref_outbox ORDER BY seq LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING id, body',
          );
          for (const r of rows) ch.sendToQueue(queue, Buffer.from(r.body), { persistent: true, messageId: r.id });
          if (rows.length) await ch.waitForConfirms();
          await c.query('COMMIT');
          if (rows.length === 500) again = true;
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          c.release();
        }
      } while (again);
    } finally {
      running = false;
    }
  };
  const listener = new Client({ connectionString: env('DATABASE_URL') });
  await listener.connect();
  listener.on('notification', () => void relay().catch((e: Error) => console.error(`relay: ${e.message}`)));
  await listener.query('LISTEN ref_outbox');

  const app = Fastify({ logger: false });
  app.post('/orders', async (req, reply) => {
    if (!req.headers.authorization) return reply.code(401).send({ error: 'unauthorized' });
    const id = randomUUID();
    const messageId = randomUUID();
    const body = JSON.stringify(req.body);
    await pool.query(INSERT, [id, 'demo', body, messageId, JSON.stringify({ id: messageId, name: 'order.placed.v1', payload: { orderId: id } })]);
    return reply.code(202).send({ id, status: 'PENDING' });
  });
  await app.listen({ port: Number(env('PORT')), host: '127.0.0.1' });
  console.log('listening');
  const stop = async (): Promise<void> => {
    await app.close();
    while (running) await new Promise((r) => setTimeout(r, 10)); // the relay's batch in flight
    await listener.end();
    await ch.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
    await pool.end();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
