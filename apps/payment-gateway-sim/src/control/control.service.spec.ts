import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimError } from '../sim.error';
import { ControlService } from './control.service';

test('errorRate fails the share of calls the random draw falls under', async () => {
  const draws = [0.1, 0.5, 0.29, 0.9];
  const c = new ControlService({ latencyMs: 0, errorRate: 0.3, outage: false }, () => draws.shift()!);
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) outcomes.push(await c.gate().then(() => 'ok', (e: SimError) => String(e.getStatus())));
  assert.deepEqual(outcomes, ['503', 'ok', '503', 'ok']);
});

test('update keeps fields left out', () => {
  const c = new ControlService({ latencyMs: 5, errorRate: 0.2, outage: false });
  assert.deepEqual(c.update({ outage: true }), { latencyMs: 5, errorRate: 0.2, outage: true });
  assert.deepEqual(c.get(), { latencyMs: 5, errorRate: 0.2, outage: true });
});
