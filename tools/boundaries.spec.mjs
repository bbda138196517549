// The module boundaries block for real: ESLint (with @nx/enforce-module-boundaries)
// reports an error for each forbidden import, and none for an allowed one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ESLint } from 'eslint';

process.env.NX_DAEMON = 'false';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The rule reads Nx's cached project graph; a fresh clone has none until Nx computes it.
execFileSync('npx', ['nx', 'show', 'projects'], { cwd: root, stdio: 'ignore', env: process.env });
const eslint = new ESLint({ cwd: root });
const apps = readdirSync(join(root, 'apps')).filter((a) => a !== 'inventory' && a !== 'system-e2e');

async function boundaryErrors(file, code) {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
}

test('an app may import contracts and plumbing libs', async () => {
  const errors = await boundaryErrors('apps/inventory/src/probe.ts', "import { MESSAGES } from '@orders/contracts';\nimport { UnitOfWork } from '@orders/messaging';\nexport const x = [MESSAGES, UnitOfWork];\n");
  assert.deepEqual(errors, []);
});

test('an app importing another app is an error, by package name or by path', async () => {
  assert.ok(apps.length > 0, 'another app exists to test against');
  const other = apps[0];
  const byName = await boundaryErrors('apps/inventory/src/probe.ts', `import * as other from '@orders/${other}';\nexport const x = other;\n`);
  const byPath = await boundaryErrors('apps/inventory/src/probe.ts', `import * as other from '../../${other}/src/main';\nexport const x = other;\n`);
  assert.equal(byName.length + byPath.length >= 2, true, `expected two errors, got ${JSON.stringify([...byName, ...byPath])}`);
});

test('the messaging library imports nothing of this platform: not its contracts, not its plumbing', async () => {
  assert.equal((await boundaryErrors('libs/messaging/src/probe.ts', "import { MESSAGES } from '@orders/contracts';\nexport const y = MESSAGES;\n")).length, 1);
  assert.equal((await boundaryErrors('libs/messaging/src/probe.ts', "import { loadConfig } from '@orders/platform';\nexport const y = loadConfig;\n")).length, 1);
  assert.deepEqual(await boundaryErrors('libs/messaging/src/probe.ts', "import { poolOf } from '@orders/persistence';\nexport const y = poolOf;\n"), []);
});

test('contracts may not depend on plumbing, and plumbing may not depend on an app', async () => {
  const contracts = await boundaryErrors('libs/contracts/src/probe.ts', "import { UnitOfWork } from '@orders/messaging';\nexport const y = UnitOfWork;\n");
  assert.equal(contracts.length, 1);
  const plumbing = await boundaryErrors('libs/messaging/src/probe.ts', "import * as app from '@orders/inventory';\nexport const z = app;\n");
  assert.equal(plumbing.length, 1);
});

test('the storefront client may use contracts and DTOs only; apps and e2e may use the client', async () => {
  const ok = await boundaryErrors('libs/client/src/probe.ts', "import type { OrderDto } from '@orders/dto';\nimport { MESSAGES } from '@orders/contracts';\nexport type A = OrderDto;\nexport const m = MESSAGES;\n");
  assert.deepEqual(ok, []);
  const plumbing = await boundaryErrors('libs/client/src/probe.ts', "import { loadConfig } from '@orders/platform';\nexport const y = loadConfig;\n");
  assert.equal(plumbing.length, 1);
  const e2e = await boundaryErrors('apps/system-e2e/src/probe.ts', "import { OrdersClient } from '@orders/client';\nexport const c = OrdersClient;\n");
  assert.deepEqual(e2e, []);
});
