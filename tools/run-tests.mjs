// Runs node's built-in test runner over compiled tests of one tier.
// usage: node tools/run-tests.mjs <dir> <spec|int-spec|e2e-spec> [extra node --test args]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [dir, tier, ...extra] = process.argv.slice(2);
const suffix = `.${tier}.js`;
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(suffix) && !(tier === 'spec' && /\.(int|e2e)-spec\.js$/.test(f)))
  .map((f) => join(dir, f))
  .sort();
if (files.length === 0) {
  console.log(`no ${tier} tests in ${dir}`);
  process.exit(0);
}
const concurrency = tier === 'spec' ? [] : ['--test-concurrency=1'];
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', ...concurrency, ...extra, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
