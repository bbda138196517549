import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { eventually, readSse } from '@orders/testing';
import { ReadModelService } from '../read-model/read-model.service';
import { OrderEventsHub } from './order-events.hub';
import { OrderStreams } from './order-streams';
import { ACME, call, DEMO, placeOrder, PRICED, startTestApp, statusEvent, TestApp } from '../../../test/test-app';

/** No client can exhaust the service through event streams: caps, tokens checked before any read, one read per order. */
let t: TestApp;
let base: string;
let pg: Client;

before(async () => {
  t = await startTestApp('recv_streams', { SSE_MAX_STREAMS_PER_ORDER: '3', SSE_MAX_STREAMS_PER_TENANT: '5', SSE_HEARTBEAT_MS: '200' });
  base = t.base;
  pg = new Client({ connectionString: t.db.url });
  await pg.connect();
});

after(async () => {
  await pg?.end();
  await t?.stop();
});

/** An open stream: its status, what it has sent so far, and a way to hang up. */
async function open(url: string, headers: Record<string, string> = {}) {
  const ctl = new AbortController();
  const res = await fetch(`${base}${url}`, { headers: { accept: 'text/event-stream', ...headers }, signal: ctl.signal });
  let text = '';
  let ended = false;
  if (res.ok && res.body) {
    const reader = res.body.getReader();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      } catch {
        // aborted
      }
      ended = true;
    })();
  }
  return {
    status: res.status,
    headers: res.headers,
    text: () => text,
    ended: () => ended,
    close: () => ctl.abort(),
  };
}

const eventsUrl = (placed: { body: { links: { events: string } } }) => placed.body.links.events;

test('streams of one order are capped per instance (429 with Retry-After), and a closed one frees its place', async () => {
  const placed = await placeOrder(base);
  const streams = await Promise.all([1, 2, 3].map(() => open(eventsUrl(placed))));
  assert.deepEqual(streams.map((s) => s.status), [200, 200, 200]);
  const over = await call(base, 'GET', eventsUrl(placed));
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  assert.match(String(over.body.message), /streams/);
  streams[0].close();
  await eventually(() => t.app.get(OrderStreams).count(placed.body.id) === 2, 5000, 20, 'closed stream gone');
  const again = await open(eventsUrl(placed));
  assert.equal(again.status, 200);
  for (const s of [...streams, again]) s.close();
  await eventually(() => t.app.get(OrderStreams).count(placed.body.id) === 0, 5000, 20, 'all gone');
});

test("a tenant's streams are capped; another tenant's are not", async () => {
  const orders = await Promise.all([1, 2, 3].map(() => placeOrder(base)));
  const open5 = [await open(eventsUrl(orders[0])), await open(eventsUrl(orders[0])), await open(eventsUrl(orders[1])), await open(eventsUrl(orders[1])), await open(eventsUrl(orders[2]))];
  assert.deepEqual(open5.map((s) => s.status), [200, 200, 200, 200, 200]);
  assert.equal((await call(base, 'GET', eventsUrl(orders[2]))).status, 429, "the tenant's sixth stream");
  const acme = await placeOrder(base, undefined, ACME);
  const other = await open(eventsUrl(acme));
  assert.equal(other.status, 200, "another tenant's stream opens");
  for (const s of [...open5, other]) s.close();
  await eventually(() => orders.every((o) => t.app.get(OrderStreams).count(o.body.id) === 0), 5000, 20, 'all gone');
});

test('a bad token is refused before anything is read, and an address that keeps guessing gets 429', async () => {
  const placed = await placeOrder(base);
  const good = eventsUrl(placed);
  const bad = `${good.slice(0, -3)}xyz`;
  await pg.query('BEGIN');
  try {
    // While the read model cannot be read at all, a bad token is still answered at once.
    await pg.query('LOCK TABLE receiving.orders IN ACCESS EXCLUSIVE MODE');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await call(base, 'GET', bad)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), Array(5).fill(429));
  } finally {
    await pg.query('ROLLBACK');
  }
  const real = await open(good);
  assert.equal(real.status, 200, 'a genuine token still opens its stream');
  real.close();
});

test('one status change is one read, however many streams of the order are open', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  const streams = await Promise.all([1, 2, 3].map(() => open(eventsUrl(placed))));
  await eventually(() => streams.every((s) => s.text().includes('event: PENDING')), 5000, 20, 'every stream has PENDING');
  const readModel = t.app.get(ReadModelService);
  const original = readModel.eventsSince.bind(readModel);
  let reads = 0;
  readModel.eventsSince = (summary, afterSequence) => {
    reads++;
    return original(summary, afterSequence);
  };
  try {
    await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
    await eventually(() => streams.every((s) => s.text().includes('event: PROCESSING')), 5000, 20, 'every stream has PROCESSING');
    assert.equal(reads, 1);
  } finally {
    readModel.eventsSince = original;
    for (const s of streams) s.close();
  }
});

test('a Last-Event-ID beyond the order resumes from where the order is and still ends with it', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  const streaming = readSse(`${base}/orders/${id}/events`, { headers: { ...DEMO, 'last-event-id': '99' }, timeoutMs: 10000 });
  await eventually(() => t.app.get(OrderStreams).count(id) === 1, 5000, 20, 'stream open');
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
  const sse = await streaming;
  assert.deepEqual(sse.events.map((e) => e.event), ['PROCESSING', 'CONFIRMED']);
  assert.equal(sse.closedByServer, true, 'closed after the final state, not left open');
});

test('a client that hangs up while its order is being looked up leaves nothing behind', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  const hub = t.app.get(OrderEventsHub);
  await pg.query('BEGIN');
  const ctl = new AbortController();
  try {
    await pg.query('LOCK TABLE receiving.orders IN ACCESS EXCLUSIVE MODE');
    const gone = fetch(`${base}${eventsUrl(placed)}`, { signal: ctl.signal }).catch(() => undefined);
    await eventually(async () => {
      const { rows } = await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'receiving.orders'::regclass");
      return rows[0].n > 0;
    }, 5000, 20, 'the lookup waits on the lock');
    ctl.abort();
    await gone;
  } finally {
    await pg.query('ROLLBACK');
  }
  // Three streams fill the order's three places only if the gone one holds none.
  const next = [await open(eventsUrl(placed)), await open(eventsUrl(placed)), await open(eventsUrl(placed))];
  assert.deepEqual(next.map((s) => s.status), [200, 200, 200]);
  for (const s of next) s.close();
  await eventually(() => hub.subscribers(id) === 0 && t.app.get(OrderStreams).count(id) === 0, 5000, 20, 'nothing left subscribed');
});
