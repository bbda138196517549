import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { Client } from 'pg';
import { deliveriesOf, registerWebhook, startApp, TestApp } from '../../test/test-kit';

/** Retention of delivery logs and sent emails, pruned every 200 ms here. */
let t: TestApp;
let pg: Client;

before(async () => {
  t = await startApp({ WEBHOOK_DELIVERIES_RETENTION_DAYS: '30', EMAILS_RETENTION_DAYS: '30', RETENTION_PRUNE_INTERVAL_MS: '200' });
  pg = new Client({ connectionString: t.db.url });
  await pg.connect();
});

after(async () => {
  await pg?.end();
  await t?.close();
});

/** A delivery of the endpoint as it would be after a while, with one attempt; `finishedDaysAgo` null = still pending. */
async function delivery(endpointId: string, state: 'delivered' | 'failed' | 'pending', createdDaysAgo: number, finishedDaysAgo: number | null): Promise<string> {
  const id = randomUUID();
  // one statement: the pruner (every 200 ms) cannot take the delivery between it and its attempt
  await pg.query(
    `WITH d AS (
       INSERT INTO notification.webhook_deliveries (id, endpoint_id, tenant_id, event_id, order_id, order_status, payload, state, attempt_count,
         next_attempt_at, created_at, finished_at)
       VALUES ($1, $2, 't1', $3, $4, 'CONFIRMED', '{"data":{"customer":{"email":"ada@example.com"}}}', $5, 1,
         CASE WHEN $5 = 'pending' THEN now() + interval '1 day' END, now() - make_interval(days => $6), now() - make_interval(days => $7::int))
       RETURNING id
     )
     INSERT INTO notification.webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, outcome, next_retry_at)
     SELECT id, 1, now() - make_interval(days => $6), 500, 12, $8, NULL FROM d`,
    [id, endpointId, randomUUID(), randomUUID(), state, createdDaysAgo, finishedDaysAgo, state === 'pending' ? 'retrying' : state],
  );
  return id;
}

async function email(status: string, createdDaysAgo: number, sentDaysAgo: number | null): Promise<string> {
  const orderId = randomUUID();
  await pg.query(
    `INSERT INTO notification.emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id, created_at, sent_at)
     VALUES ($1, $2, 't1', 'ada@example.com', 'Your order', 'text', '<p>html</p>', $3, now() - make_interval(days => $4), now() - make_interval(days => $5::int))`,
    [orderId, status, `<${orderId}.${status}@orders.local>`, createdDaysAgo, sentDaysAgo],
  );
  return orderId;
}

test('finished deliveries (with their attempts) and sent emails past their retention go; recent ones and unfinished ones stay', async () => {
  const w = await registerWebhook(t, 't1', 'http://127.0.0.1:9/retention');
  const oldDelivered = await delivery(w.id, 'delivered', 40, 40);
  const oldFailed = await delivery(w.id, 'failed', 45, 31);
  const recent = await delivery(w.id, 'delivered', 29, 29);
  const failedLately = await delivery(w.id, 'failed', 40, 2); // created long ago, resent, finished lately
  const pending = await delivery(w.id, 'pending', 40, null); // still waiting for its next retry, however old
  const oldSent = await email('CONFIRMED', 40, 40);
  const recentSent = await email('CONFIRMED', 10, 10);
  const unsent = await email('REJECTED', 40, null);

  const logged = await eventually(async () => {
    const ids = (await deliveriesOf(t, 't1', w.id)).map((d) => d.id);
    return ids.includes(oldDelivered) || ids.includes(oldFailed) ? undefined : ids;
  }, 10000, 50, 'the old deliveries gone from the delivery log');
  assert.deepEqual(logged.sort(), [recent, failedLately, pending].sort());
  const attempts = await pg.query('SELECT delivery_id FROM notification.webhook_attempts WHERE delivery_id = ANY ($1::uuid[])', [[oldDelivered, oldFailed]]);
  assert.equal(attempts.rowCount, 0, 'their attempts went with them');
  const emails = await eventually(async () => {
    const r = await pg.query('SELECT order_id FROM notification.emails WHERE order_id = ANY ($1::uuid[])', [[oldSent, recentSent, unsent]]);
    const left = r.rows.map((x: { order_id: string }) => x.order_id);
    return left.includes(oldSent) ? undefined : left;
  }, 10000, 50, 'the old sent email gone');
  assert.deepEqual(emails.sort(), [recentSent, unsent].sort(), 'a recent email and one never sent stay');
});
