// Runs node's built-in test runner over the compiled tests of one tier of one project.
// usage: node tools/run-tests.mjs <dir> <spec|int-spec|e2e-spec> [extra node --test args]
// Appends "<pass> <fail>" to $TEST_TALLY_FILE when set, so tools/test-all.sh can print one closing line.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [dir, tier, ...extra] = process.argv.slice(2);
const suffix = `.${tier}.js`;
let files = [];
try {
  files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => (f.endsWith(suffix) || f.endsWith(`.${tier}.mjs`)) && !(tier === 'spec' && /\.(int|e2e)-spec\.js$/.test(f)))
    .map((f) => join(dir, f))
    .sort();
} catch {
  /* not built: no tests */
}
if (files.length === 0) {
  console.log(`no ${tier} tests in ${dir}`);
  process.exit(0);
}
const tap = join(mkdtempSync(join(tmpdir(), 'tests-')), 'out.tap');
const concurrency = tier === 'spec' ? [] : ['--test-concurrency=1'];
const r = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...concurrency, ...extra, ...files],
  { stdio: 'inherit' },
);
if (process.env.TEST_TALLY_FILE) {
  const out = readFileSync(tap, 'utf8');
  const num = (k) => Number(out.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  appendFileSync(process.env.TEST_TALLY_FILE, `${num('pass')} ${num('fail') + num('cancelled')}\n`);
}
process.exit(r.status ?? 1);
