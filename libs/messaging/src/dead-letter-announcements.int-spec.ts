import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { knobs } from '../test/toy-consumers';
import { rawBroker, RawBroker, startToyService, ToyService } from '../test/toy-rig';

/**
 * A dead letter is announced by the application's announceDeadLetter hook
 * (the toy app's: work.dead-lettered.v1, taken by ops.incidents), so
 * whatever the message belonged to can still end: before it is parked, and
 * also when its body could not be read at all.
 */
let svc: ToyService;
let broker: RawBroker;

before(async () => {
  svc = await startToyService({ label: 'announce', queues: { 'worker.jobs': 8 } });
  broker = await rawBroker();
});

after(async () => {
  await broker?.close();
  await svc?.cleanup();
});

const depth = (q: string) => svc.bus.queueDepth(q);

// Guards: parked first, a crash between the two would leave a dead letter nobody hears of.
test("the hook's message is published before the dead letter is parked", async () => {
  const jobId = randomUUID();
  knobs.failures.set(jobId, 99);
  const incidents = svc.queue('ops.incidents');
  const dlq = svc.queue('worker.jobs', 'dlq');
  const [incidentsBefore, dlqBefore] = [await depth(incidents), await depth(dlq)];
  const env = await svc.publish('work.requested.v1', { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] });
  // each look reads the dead-letter queue first: once the dead letter is there, the announcement must already be
  let parkedUnannounced = false;
  await eventually(async () => {
    const parked = (await depth(dlq)) > dlqBefore;
    if (parked && !((await depth(incidents)) > incidentsBefore)) parkedUnannounced = true;
    return parked;
  }, 10000, 2, 'the dead letter parked');
  assert.equal(parkedUnannounced, false, 'parked before it was announced');
  const note = await svc.bus.waitFor('work.dead-lettered.v1', (p) => p.messageId === env.id, 5000);
  assert.deepEqual({ ...note.payload, reason: undefined, rawBase64: undefined }, {
    messageId: env.id, name: 'work.requested.v1', queue: 'worker.jobs', jobId, reason: undefined, rawBase64: undefined,
  });
  assert.match(note.payload.reason, /planned failure/);
  assert.equal(Buffer.from(note.payload.rawBase64, 'base64').toString('utf8'), JSON.stringify(env));

  // and the broker's own times say the same: the announcement was confirmed before the dead letter was written
  const ch = await broker.conn.createChannel();
  try {
    const parked = await ch.get(dlq, { noAck: false });
    const announced = await ch.get(incidents, { noAck: false });
    assert.ok(parked && announced);
    assert.equal(parked.properties.messageId, env.id);
    assert.ok(Number(announced.properties.headers?.['x-published-at']) <= Date.parse(String(parked.properties.headers?.['x-dead-lettered-at'])));
  } finally {
    await ch.close(); // unacked: both stay where they are
  }
});

// Guards: a message this version cannot read (a newer version's, say) must still be announced, as far as its bytes tell.
test('an unreadable body still reaches the hook, with its raw bytes', async () => {
  const jobId = randomUUID();
  const body = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(` not an envelope, but it names "jobId": "${jobId}"`)]);
  await svc.bus.publishRaw('work.requested.v1', body);
  const note = await svc.bus.waitFor('work.dead-lettered.v1', (p) => p.jobId === jobId, 5000);
  assert.equal(note.payload.messageId, '', 'no envelope, so no message id');
  assert.equal(note.payload.queue, 'worker.jobs');
  assert.equal(note.payload.name, 'work.requested.v1');
  assert.match(note.payload.reason, /UnreadableMessage/);
  assert.deepEqual(Buffer.from(note.payload.rawBase64, 'base64'), body, 'the bytes as they came');
});
