// Sums V8 CPU profiles (node --cpu-prof) by where the time went.
// usage: node tools/profile-summary.mjs <dir with *.cpuprofile> [top=15]
// e.g.   SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench && node tools/profile-summary.mjs /tmp/prof
// One block per profile (the process's pid is in the file name): busy time, then the functions with the most
// self time, and the same time summed by package (node_modules/<name>), own code (apps/…, libs/…) or Node itself.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node tools/profile-summary.mjs <dir with *.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 15);

/** Where a function lives: a package, the workspace's own code, or Node / V8 itself. */
function placeOf(url) {
  if (!url) return '(node/v8)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  const own = url.match(/\/((?:apps|libs)\/[^/]+)\//);
  if (own) return own[1];
  if (url.startsWith('node:')) return '(node)';
  return url;
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // each sample is a node id; its time is the delta that follows it
  const selfUs = new Map();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0)));
  const fn = new Map();
  const place = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const key = `${functionName || '(anonymous)'}  ${placeOf(url)}${url && !url.includes('node_modules') ? `:${lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    place.set(placeOf(url), (place.get(placeOf(url)) ?? 0) + us);
  }
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`\n${file}: busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s`);
  console.log('  by place:');
  for (const [k, us] of [...place].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${k}`);
  console.log('  by function (self time):');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${k}`);
}
