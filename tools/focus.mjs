// One app's production tree, for the Dockerfile and for tools/deploy.spec.mjs.
//   node tools/focus.mjs stage <app> <out>  copies the root package.json and lockfile, every workspace's
//                                           package.json (npm ci checks them against the lockfile) and what
//                                           the app and the @orders/* libs it depends on ship: their package.json
//                                           "files" (by default the compiled dist/ only)
//   node tools/focus.mjs prune <app> <out>  after `npm ci --omit=dev --workspace apps/<app>` in <out>: removes
//                                           the other workspaces (package.json only) and their links
// An app's package.json lists its runtime dependencies: the @orders/* libs it imports and the npm packages
// it (and each lib, in its own package.json) requires at run time.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** Every workspace: package name → { dir (relative to the root), pkg }. */
export function workspaces(root = ROOT) {
  const out = new Map();
  for (const group of ['apps', 'libs']) {
    for (const d of readdirSync(join(root, group))) {
      const p = join(root, group, d, 'package.json');
      if (existsSync(p)) out.set(readJson(p).name, { dir: `${group}/${d}`, pkg: readJson(p) });
    }
  }
  return out;
}

/** The app's workspace and the @orders/* workspaces its runtime dependencies reach, app first. */
export function workspaceClosure(app, root = ROOT) {
  const all = workspaces(root);
  const byDir = new Map([...all.values()].map((w) => [w.dir, w]));
  const start = byDir.get(`apps/${app}`);
  if (!start) throw new Error(`no app ${app}`);
  const seen = new Map([[start.pkg.name, start]]);
  const queue = [start];
  while (queue.length) {
    for (const dep of Object.keys(queue.shift().pkg.dependencies ?? {})) {
      const w = all.get(dep);
      if (w && !seen.has(dep)) {
        seen.set(dep, w);
        queue.push(w);
      }
    }
  }
  return [...seen.values()];
}

/**
 * The npm packages a production install of the app brings in: the runtime dependencies of its workspaces,
 * followed through node_modules (dependencies, optional and required peer dependencies), by package name.
 */
export function npmClosure(app, root = ROOT) {
  const ws = workspaceClosure(app, root);
  const wsNames = new Set(ws.map((w) => w.pkg.name));
  const names = new Set();
  const visited = new Set();
  const resolve = (name, fromDir) => {
    for (let d = fromDir; ; d = dirname(d)) {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) return p;
      if (d === root || dirname(d) === d) return undefined;
    }
  };
  const visit = (dir) => {
    if (visited.has(dir)) return;
    visited.add(dir);
    const pkg = readJson(join(dir, 'package.json'));
    const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    const deps = [
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
    ];
    for (const dep of deps) {
      if (wsNames.has(dep)) continue;
      const at = resolve(dep, dir);
      if (!at) continue; // an optional dependency not installed on this platform
      names.add(dep);
      visit(at);
    }
  };
  for (const w of ws) {
    for (const dep of Object.keys(w.pkg.dependencies ?? {})) {
      if (wsNames.has(dep)) continue;
      const at = resolve(dep, join(root, w.dir));
      if (!at) throw new Error(`${w.dir}: ${dep} is not installed`);
      names.add(dep);
      visit(at);
    }
  }
  return names;
}

const builtins = new Set(builtinModules);

/** Package names the compiled JavaScript under dir requires (literal require()/import()), builtins left out. */
export function requiredPackages(dir) {
  const found = new Map();
  if (!existsSync(dir)) return found;
  for (const f of readdirSync(dir, { recursive: true }).map(String)) {
    if (!f.endsWith('.js')) continue;
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
      const s = m[1] ?? m[2];
      if (s.startsWith('.') || s.startsWith('/') || s.startsWith('node:') || builtins.has(s.split('/')[0])) continue;
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
      if (!found.has(name)) found.set(name, join(dir, f));
    }
  }
  return found;
}

function stage(app, out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(out, f));
  for (const w of workspaces().values()) {
    mkdirSync(join(out, w.dir), { recursive: true });
    cpSync(join(ROOT, w.dir, 'package.json'), join(out, w.dir, 'package.json'));
  }
  for (const w of workspaceClosure(app)) {
    // what the package ships (package.json "files", npm's own convention), by default its compiled dist/
    for (const entry of w.pkg.files ?? ['dist']) {
      const from = join(ROOT, w.dir, entry);
      if (!existsSync(from)) throw new Error(`${w.dir}/${entry} is missing${entry === 'dist' ? ' (not built)' : ''}`);
      cpSync(from, join(out, w.dir, entry), { recursive: true, filter: (src) => !/\.(tsbuildinfo)$|\.(spec|int-spec|e2e-spec)\.js/.test(src) });
    }
  }
}

function prune(app, out) {
  const keep = new Set(workspaceClosure(app).map((w) => w.dir));
  for (const [name, w] of workspaces()) {
    if (keep.has(w.dir)) continue;
    rmSync(join(out, w.dir), { recursive: true, force: true });
    rmSync(join(out, 'node_modules', name), { recursive: true, force: true });
  }
  for (const group of ['apps', 'libs']) if (readdirSync(join(out, group)).length === 0) rmSync(join(out, group), { recursive: true });
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') {
  const [cmd, app, out] = process.argv.slice(2);
  if (!app || !out || !['stage', 'prune'].includes(cmd)) {
    process.stderr.write('usage: node tools/focus.mjs stage|prune <app> <out>\n');
    process.exit(2);
  }
  (cmd === 'stage' ? stage : prune)(app, out);
}
