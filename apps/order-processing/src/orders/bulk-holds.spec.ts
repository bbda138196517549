import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { BulkHolds } from './bulk-holds';

const holds = (env: Record<string, string> = {}) => new BulkHolds(loadConfig(OrderProcessingEnv, { TENANT_BULK_HOLD_MS: '2000', ...env }));

/** Resolves to which of the turns have gone so far (after the microtasks ran). */
async function gone(turns: Array<Promise<void>>): Promise<boolean[]> {
  const state = turns.map(() => false);
  turns.forEach((t, i) => void t.then(() => (state[i] = true)));
  await new Promise((r) => setImmediate(r));
  return state;
}

test('a tenant with room is never held; once a placement of it had to wait, the next ones are held until an order of it ends with room', async () => {
  const h = holds();
  assert.deepEqual(await gone([h.turn('flood')]), [true], 'nothing known: goes');
  h.stored('flood', true);
  assert.deepEqual(await gone([h.turn('flood')]), [true], 'the last one started: goes');
  h.stored('flood', false); // stored waiting: the tenant is full
  const turns = [h.turn('flood'), h.turn('flood'), h.turn('flood')];
  assert.deepEqual(await gone(turns), [false, false, false]);
  assert.equal(h.heldCount('flood'), 3);
  assert.deepEqual(await gone([h.turn('quiet')]), [true], 'another tenant is not held');
  h.release('flood', 1);
  assert.deepEqual(await gone(turns), [true, false, false], 'the oldest goes first');
  h.stored('flood', true); // it found room and started: the next one may find room too
  assert.deepEqual(await gone(turns), [true, true, false]);
  h.stored('flood', false); // that one had to wait: the last stays held
  assert.deepEqual(await gone(turns), [true, true, false]);
  h.beforeApplicationShutdown();
  assert.deepEqual(await gone(turns), [true, true, true], 'shutting down lets every held placement go');
  assert.deepEqual(await gone([h.turn('flood')]), [true], 'nothing is held while stopping');
});

test('a held placement goes after TENANT_BULK_HOLD_MS whatever happens (an order ending on another instance releases nothing here)', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const h = holds();
    h.stored('flood', false);
    const turns = [h.turn('flood')];
    mock.timers.tick(1999);
    assert.deepEqual(await gone(turns), [false]);
    mock.timers.tick(1);
    assert.deepEqual(await gone(turns), [true]);
    assert.equal(h.heldCount('flood'), 0);
    h.release('flood', 5); // nothing left to release: no error
  } finally {
    mock.timers.reset();
  }
});

test('TENANT_BULK_HOLD_MS=0 holds nothing', async () => {
  const h = holds({ TENANT_BULK_HOLD_MS: '0' });
  h.stored('flood', false);
  assert.deepEqual(await gone([h.turn('flood')]), [true]);
});
