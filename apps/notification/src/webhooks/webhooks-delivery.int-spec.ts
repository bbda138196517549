import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount, sleep, TestBus } from '@orders/testing';
import { Client } from 'pg';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { auth, Receiver, startApp, statusEvent, TestApp } from '../../test/test-kit';
import type { DeliveryView, WebhookView } from './webhook.dto';

let t: TestApp;
let bus: TestBus;
let pg: Client;
let smtp: SMTPServer;
const mails: string[] = [];
const rx = new Receiver();

before(async () => {
  await rx.start();
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData: (stream, session, done) => {
      stream.resume();
      stream.on('end', () => {
        mails.push(session.envelope.rcptTo[0]?.address ?? '');
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  t = await startApp({
    SMTP_PORT: String((smtp.server.address() as AddressInfo).port), SMTP_TIMEOUT_MS: '2000',
    WEBHOOK_CONCURRENCY: '4', WEBHOOK_PER_ENDPOINT_CONCURRENCY: '2', WEBHOOK_DISABLE_AFTER_FAILURES: '2',
  });
  bus = await TestBus.connect(t.cfg.MQ_PREFIX);
  pg = new Client({ connectionString: t.db.url });
  await pg.connect();
});

after(async () => {
  await pg?.end();
  await bus?.cleanup();
  await t?.close();
  await rx.stop();
  await new Promise<void>((resolve) => smtp.close(resolve));
});

async function register(tenant: string, url: string, events?: string[]): Promise<WebhookView & { secret: string }> {
  const res = await fetch(`${t.base}/webhooks`, { method: 'POST', headers: auth(tenant), body: JSON.stringify({ url, ...(events ? { events } : {}) }) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as WebhookView & { secret: string };
}

async function deliveries(tenant: string, id: string): Promise<DeliveryView[]> {
  const res = await fetch(`${t.base}/webhooks/${id}/deliveries`, { headers: { authorization: auth(tenant).authorization } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: DeliveryView[] }).items;
}

async function endpoint(tenant: string, id: string): Promise<WebhookView> {
  const res = await fetch(`${t.base}/webhooks/${id}`, { headers: { authorization: auth(tenant).authorization } });
  return (await res.json()) as WebhookView;
}

interface Body {
  type: string;
  timestamp: string;
  data: { orderId: string; tenantId: string; status: string; reason?: string; sequence: number; totals: { totalCents: number } };
}

test('each status change reaches the endpoint signed per Standard Webhooks; the delivery log shows the attempt', async () => {
  const w = await register('t1', rx.url('/t1'));
  const e = statusEvent('t1', { status: 'REJECTED', reason: 'payment_declined', sequence: 3 });
  await bus.publish('order.status-changed.v1', e);
  const [req] = await eventually(() => (rx.to('/t1').length ? rx.to('/t1') : undefined), 10000, 20, 'the webhook');
  const body = new Webhook(w.secret).verify(req.body, req.headers) as Body;
  assert.equal(body.type, 'order.status_changed');
  assert.equal(body.timestamp, e.at);
  assert.deepEqual(
    { orderId: body.data.orderId, status: body.data.status, reason: body.data.reason, sequence: body.data.sequence, total: body.data.totals.totalCents },
    { orderId: e.orderId, status: 'REJECTED', reason: 'payment_declined', sequence: 3, total: 1998 },
  );
  assert.equal(req.headers['content-type'], 'application/json');
  assert.match(req.headers['webhook-id'], /^msg_[0-9a-f]{32}$/);
  assert.ok(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000) < 30);
  assert.match(req.headers['webhook-signature'], /^v1,[A-Za-z0-9+/=]+$/);
  assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(req.body, req.headers), /signature/i);

  const [d] = await eventually(async () => {
    const ds = await deliveries('t1', w.id);
    return ds[0]?.state === 'delivered' ? ds : undefined;
  }, 5000, 20, 'delivered in the log');
  assert.equal(d.webhookId, req.headers['webhook-id']);
  assert.equal(d.orderId, e.orderId);
  assert.equal(d.attempts.length, 1);
  assert.equal(d.attempts[0].statusCode, 204);
  assert.equal(d.attempts[0].outcome, 'delivered');
  assert.ok(d.attempts[0].latencyMs >= 0 && d.attempts[0].latencyMs < 5000);
  assert.equal(d.attempts[0].nextRetryAt, null);
});

test('only the statuses an endpoint asked for are delivered to it', async () => {
  const finalOnly = await register('t2', rx.url('/t2/final'), ['CONFIRMED', 'CANCELLED']);
  await register('t2', rx.url('/t2/all'), ['*']);
  const e = statusEvent('t2', { status: 'PROCESSING', sequence: 2 });
  await bus.publish('order.status-changed.v1', e);
  await bus.publish('order.status-changed.v1', { ...e, status: 'CONFIRMED', sequence: 3 });
  await eventually(() => rx.to('/t2/all').length === 2 && rx.to('/t2/final').length === 1, 10000, 20, 'the deliveries');
  await sleep(300);
  assert.deepEqual(rx.to('/t2/final').map((r) => (JSON.parse(r.body) as Body).data.status), ['CONFIRMED']);
  assert.deepEqual(rx.to('/t2/all').map((r) => (JSON.parse(r.body) as Body).data.status).sort(), ['CONFIRMED', 'PROCESSING']);
  assert.equal((await deliveries('t2', finalOnly.id)).length, 1);
});

// Guards: an endpoint that asked for PROCESSING missing it when the order's final event carried it (STATUS_COALESCE_MS).
test('a status carried by a final event reaches the endpoints that asked for it, under its own event id, once', async () => {
  const processing = await register('t13', rx.url('/t13/processing'), ['PROCESSING']);
  await register('t13', rx.url('/t13/all'), ['*']);
  const carriedId = randomUUID();
  const e = statusEvent('t13', { status: 'CONFIRMED', sequence: 3 });
  const final = { ...e, earlier: [{ eventId: carriedId, status: 'PROCESSING' as const, sequence: 2, at: e.at }] };
  await bus.publish('order.status-changed.v1', final);
  await eventually(() => rx.to('/t13/processing').length === 1 && rx.to('/t13/all').length === 2, 10000, 20, 'the deliveries');
  assert.deepEqual(rx.to('/t13/processing').map((r) => [(JSON.parse(r.body) as Body).data.status, (JSON.parse(r.body) as Body).data.sequence]), [['PROCESSING', 2]]);
  assert.deepEqual(rx.to('/t13/all').map((r) => (JSON.parse(r.body) as Body).data.status).sort(), ['CONFIRMED', 'PROCESSING']);
  // the carried status's own event, sent after all: the same delivery (same event id), not a second one
  await bus.publish('order.status-changed.v1', { ...e, status: 'PROCESSING', sequence: 2 }, { id: carriedId });
  await bus.publish('order.status-changed.v1', { ...e, status: 'CANCELLED', sequence: 4 }); // a later event of the tenant, handled after it
  await eventually(() => rx.to('/t13/all').length === 3, 10000, 20, 'the later event');
  assert.equal((await deliveries('t13', processing.id)).length, 1);
});

test('a failing endpoint is retried on the schedule with the same webhook-id until it answers 2xx', async () => {
  const w = await register('t3', rx.url('/t3', (n) => (n <= 2 ? { status: 500, body: 'x'.repeat(1000) } : { status: 200, body: 'ok' })));
  await bus.publish('order.status-changed.v1', statusEvent('t3'));
  const reqs = await eventually(() => (rx.to('/t3').length === 3 ? rx.to('/t3') : undefined), 10000, 20, 'three attempts');
  assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1, 'same webhook-id on every attempt');
  for (const r of reqs) new Webhook(w.secret).verify(r.body, r.headers);
  // schedule 0,100,200 with ±20 % jitter
  assert.ok(reqs[1].at - reqs[0].at >= 75, `first retry after ${reqs[1].at - reqs[0].at} ms`);
  assert.ok(reqs[2].at - reqs[1].at >= 155, `second retry after ${reqs[2].at - reqs[1].at} ms`);
  const [d] = await eventually(async () => {
    const ds = await deliveries('t3', w.id);
    return ds[0]?.state === 'delivered' ? ds : undefined;
  }, 5000, 20, 'delivered');
  assert.deepEqual(d.attempts.map((a) => [a.statusCode, a.outcome]), [[500, 'retrying'], [500, 'retrying'], [200, 'delivered']]);
  assert.ok(d.attempts[0].nextRetryAt && Date.parse(d.attempts[0].nextRetryAt) > Date.parse(d.attempts[0].at));
  assert.equal(d.attempts[0].responseExcerpt?.length, 256, 'only a short excerpt of the body is kept');
  assert.equal(d.attempts[0].error, 'HTTP 500');
});

test('an endpoint that keeps failing fails its deliveries and is disabled after a run of failed deliveries', async () => {
  const w = await register('t4', rx.url('/t4', () => ({ status: 503 })));
  await bus.publish('order.status-changed.v1', statusEvent('t4'));
  const [first] = await eventually(async () => {
    const ds = await deliveries('t4', w.id);
    return ds[0]?.state === 'failed' ? ds : undefined;
  }, 10000, 20, 'the first delivery failed');
  assert.deepEqual(first.attempts.map((a) => a.outcome), ['retrying', 'retrying', 'failed']);
  assert.equal(first.attempts[2].nextRetryAt, null);
  assert.equal((await endpoint('t4', w.id)).enabled, true, 'one failed delivery does not disable');
  await bus.publish('order.status-changed.v1', statusEvent('t4'));
  await eventually(async () => !(await endpoint('t4', w.id)).enabled, 10000, 20, 'disabled after 2 failed deliveries');
  assert.match((await endpoint('t4', w.id)).disabledReason ?? '', /2 deliveries in a row failed/);
  assert.equal(rx.to('/t4').length, 6);

  // a disabled endpoint is not resent to until the tenant enables it again
  const headers = { authorization: auth('t4').authorization };
  const resendUrl = `${t.base}/webhooks/${w.id}/deliveries/${first.id}/resend`;
  assert.equal((await fetch(resendUrl, { method: 'POST', headers })).status, 409);
  const enabled = await fetch(`${t.base}/webhooks/${w.id}/enable`, { method: 'POST', headers });
  assert.equal(enabled.status, 200);
  assert.equal(((await enabled.json()) as WebhookView).enabled, true);
  assert.equal((await fetch(resendUrl, { method: 'POST', headers })).status, 202);
  await eventually(() => rx.to('/t4').length === 7, 5000, 20, 'the resent delivery');
});

test('410 Gone disables the endpoint at once; the tenant\'s events then stop reaching the webhook queue', async () => {
  const w = await register('t5', rx.url('/t5', () => ({ status: 410 })));
  await bus.publish('order.status-changed.v1', statusEvent('t5'));
  const ep = await eventually(async () => {
    const v = await endpoint('t5', w.id);
    return v.enabled ? undefined : v;
  }, 10000, 20, 'disabled');
  assert.match(ep.disabledReason ?? '', /410/);
  const [d] = await deliveries('t5', w.id);
  assert.equal(d.state, 'failed');
  assert.deepEqual(d.attempts.map((a) => [a.statusCode, a.outcome]), [[410, 'failed']]);
  // the dispatcher set the tenant's routes again when it disabled the endpoint: its events no longer reach the webhook
  // queue at all (long before WEBHOOK_ROUTES_SYNC_MS). t11's events are the marker that everything before was routed.
  await register('t11', rx.url('/t11'));
  await eventually(async () => {
    const acked = await handledCount('notification.webhooks', 'order.status-changed.v1');
    const markers = rx.to('/t11').length;
    await bus.publish('order.status-changed.v1', statusEvent('t5'));
    await bus.publish('order.status-changed.v1', statusEvent('t11'));
    await eventually(() => rx.to('/t11').length > markers, 5000, 20, 'the marker delivered');
    return (await handledCount('notification.webhooks', 'order.status-changed.v1')) === acked + 1;
  }, 5000, 0, 'only the marker reaching the webhook queue');
  assert.equal(rx.to('/t5').length, 1);
  assert.equal((await deliveries('t5', w.id)).length, 1);
});

test('a stalled endpoint delays neither another endpoint nor another tenant nor the customer email', async () => {
  const stalled = await register('t6', rx.url('/t6/stall', () => 'stall'));
  await register('t6', rx.url('/t6/ok'));
  await register('t7', rx.url('/t7/ok'));
  // more events than the stalled endpoint has slots (2) and than the whole dispatcher has (4)
  const events = Array.from({ length: 5 }, () => statusEvent('t6'));
  for (const e of events) await bus.publish('order.status-changed.v1', e);
  await eventually(() => rx.to('/t6/stall').length >= 1, 5000, 10, 'the stalled endpoint is being called');
  const started = Date.now();
  await bus.publish('order.status-changed.v1', statusEvent('t7'));
  await bus.publish('order.status-changed.v1', statusEvent('t6'));
  await eventually(() => rx.to('/t7/ok').length === 1 && rx.to('/t6/ok').length === 6, 5000, 10, 'the other endpoints');
  assert.ok(Date.now() - started < 1000, `other endpoints took ${Date.now() - started} ms`);
  await eventually(() => mails.filter((m) => m === 't6@example.com').length === 6, 10000, 20, 'every customer email');
  const timedOut = await eventually(async () => {
    const ds = await deliveries('t6', stalled.id);
    return ds.flatMap((d) => d.attempts).find((a) => a.error?.includes('timed out'));
  }, 10000, 50, 'a timed-out attempt in the log');
  assert.equal(timedOut.statusCode, null);
  assert.ok(timedOut.latencyMs >= 1400, String(timedOut.latencyMs));
});

test('the same event delivered twice makes one delivery with one webhook-id', async () => {
  const w = await register('t8', rx.url('/t8'));
  const e = statusEvent('t8');
  const first = await bus.publish('order.status-changed.v1', e);
  await bus.publish('order.status-changed.v1', e, { id: first.id });
  await eventually(() => rx.to('/t8').length >= 1, 10000, 20, 'the webhook');
  await sleep(500);
  assert.equal(rx.to('/t8').length, 1);
  assert.equal((await deliveries('t8', w.id)).length, 1);
});

test('after a rotation both secrets verify during the grace period; a resend keeps the webhook-id', async () => {
  const w = await register('t9', rx.url('/t9'));
  const rot = await fetch(`${t.base}/webhooks/${w.id}/rotate-secret`, { method: 'POST', headers: { authorization: auth('t9').authorization } });
  const { secret } = (await rot.json()) as { secret: string };
  await bus.publish('order.status-changed.v1', statusEvent('t9'));
  const [req] = await eventually(() => (rx.to('/t9').length ? rx.to('/t9') : undefined), 10000, 20, 'the webhook');
  assert.equal(req.headers['webhook-signature'].split(' ').length, 2);
  new Webhook(w.secret).verify(req.body, req.headers); // a receiver still holding the old secret
  new Webhook(secret).verify(req.body, req.headers);

  const [d] = await eventually(async () => {
    const ds = await deliveries('t9', w.id);
    return ds[0]?.state === 'delivered' ? ds : undefined;
  }, 5000, 20, 'delivered');
  const resend = await fetch(`${t.base}/webhooks/${w.id}/deliveries/${d.id}/resend`, { method: 'POST', headers: { authorization: auth('t9').authorization } });
  assert.equal(resend.status, 202);
  const again = await eventually(() => (rx.to('/t9').length === 2 ? rx.to('/t9')[1] : undefined), 5000, 20, 'the resent webhook');
  assert.equal(again.headers['webhook-id'], req.headers['webhook-id']);
  assert.equal(again.body, req.body);
  new Webhook(secret).verify(again.body, again.headers);
  const [after2] = await eventually(async () => {
    const ds = await deliveries('t9', w.id);
    return ds[0]?.attempts.length === 2 && ds[0].state === 'delivered' ? ds : undefined;
  }, 5000, 20, 'two attempts in the log');
  assert.deepEqual(after2.attempts.map((a) => a.attempt), [1, 2]);
  const other = await fetch(`${t.base}/webhooks/${w.id}/deliveries/${d.id}/resend`, { method: 'POST', headers: { authorization: auth('t1').authorization } });
  assert.equal(other.status, 404, 'another tenant cannot resend it');
});

test('a host that now resolves to a refused address fails the attempt with the guard\'s reason', async () => {
  const w = await register('t10', rx.url('/t10'));
  // as if the endpoint's DNS name now pointed at the cloud metadata service
  await pg.query(`UPDATE notification.webhook_endpoints SET url = 'http://169.254.169.254/latest/meta-data/' WHERE id = $1`, [w.id]);
  await bus.publish('order.status-changed.v1', statusEvent('t10'));
  const [d] = await eventually(async () => {
    const ds = await deliveries('t10', w.id);
    return ds[0]?.attempts.length ? ds : undefined;
  }, 10000, 20, 'an attempt');
  assert.match(d.attempts[0].error ?? '', /169\.254\.169\.254 is a link-local address/);
  assert.equal(d.attempts[0].statusCode, null);
  assert.equal(rx.to('/t10').length, 0);
});

test('status events of a tenant without endpoints, and statuses no endpoint asked for, never reach the webhook queue', async () => {
  // t12's one endpoint wants CANCELLED only: its events are the marker that everything published before was routed
  await register('t12', rx.url('/t12'), ['CANCELLED']);
  const acked = await handledCount('notification.webhooks', 'order.status-changed.v1');
  const none = await bus.publish('order.status-changed.v1', statusEvent(`nohooks-${randomUUID()}`));
  const unwanted = await bus.publish('order.status-changed.v1', statusEvent('t12', { status: 'CONFIRMED' }));
  const marker = await bus.publish('order.status-changed.v1', statusEvent('t12', { status: 'CANCELLED', sequence: 5 }));
  await eventually(() => rx.to('/t12').length === 1, 10000, 20, 'the wanted event delivered');
  assert.equal(await handledCount('notification.webhooks', 'order.status-changed.v1'), acked + 1, 'only the wanted event was delivered to the queue');
  assert.equal((JSON.parse(rx.to('/t12')[0].body) as Body).data.orderId, marker.payload.orderId);
  for (const e of [none, unwanted]) assert.equal((await pg.query('SELECT 1 FROM notification.webhook_deliveries WHERE event_id = $1', [e.id])).rowCount, 0);
});
