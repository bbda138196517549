// Runs node's built-in test runner over the compiled tests of one tier of one project.
// usage: node tools/run-tests.mjs <dir> <spec|int-spec|e2e-spec> [extra node --test args]
// Appends "<pass> <fail>" to $TEST_TALLY_FILE when set, so tools/test-all.sh can print one closing line,
// and each failed test's name and location to $TEST_FAILURES_FILE, so the closing lines name them.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

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
  if (process.env.TEST_FAILURES_FILE) {
    const failed = failedLeaves(out);
    if (failed.length > 0) appendFileSync(process.env.TEST_FAILURES_FILE, failed.map((f) => `failed: ${f}\n`).join(''));
  }
}

/** The failed tests of a TAP report that have no failed subtests (a suite fails when a test in it does), with their locations. */
function failedLeaves(tap) {
  const lines = tap.split('\n');
  const childFailed = []; // by depth: a test at depth d + 1 failed since the last subtest at depth d began
  const leaves = [];
  lines.forEach((line, i) => {
    const depth = (line.length - line.trimStart().length) / 4;
    if (/^\s*# Subtest: /.test(line)) childFailed[depth + 1] = false;
    const m = /^\s*not ok \d+ - (.*)$/.exec(line);
    if (!m) return;
    if (!childFailed[depth + 1]) {
      const at = lines.slice(i + 1, i + 12).map((l) => /^\s*location: '(.*)'$/.exec(l)?.[1]).find(Boolean);
      leaves.push(at ? `${m[1]} (${relative(root, at)})` : m[1]);
    }
    childFailed[depth + 1] = false;
    childFailed[depth] = true;
  });
  return leaves;
}
process.exit(r.status ?? 1);
