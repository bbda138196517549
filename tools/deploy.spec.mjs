// The container build, checked by what can run without a Docker engine: the one Dockerfile's
// properties, docker-compose.yml's wiring (every app built from it, every secret its config reads),
// and a dry run of the image's focused production install (every module the compiled app requires
// is in the dependency closure its package.json files declare), with no tests in the staged tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { npmClosure, requiredPackages, ROOT, workspaceClosure, workspaces } from './focus.mjs';

const require = createRequire(import.meta.url);
const SECRETS = ['API_KEYS', 'ADMIN_TOKEN', 'EVENTS_TOKEN_SECRET'];
const APPS = readdirSync(join(ROOT, 'apps')).filter((a) => existsSync(join(ROOT, 'apps', a, 'src', 'main.ts')));
const read = (p) => readFileSync(join(ROOT, p), 'utf8');

/** Dockerfile instructions: [{ stage, op, args }], continuation lines joined, comments dropped. */
function dockerfile() {
  const lines = read('Dockerfile').replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let stage = -1;
  return lines.map((l) => {
    const [, op, args] = l.match(/^(\S+)\s*(.*)$/);
    if (op.toUpperCase() === 'FROM') stage++;
    return { stage, op: op.toUpperCase(), args };
  });
}

/** The variables an app's src/config.ts reads, of the secret ones. */
/** BaseEnv's ADMIN_TOKEN for every service that extends it (the operators' endpoints), and the app's own. */
const secretsRead = (app) => {
  const config = read(`apps/${app}/src/config.ts`);
  return SECRETS.filter((v) => (v === 'ADMIN_TOKEN' && /extends BaseEnv/.test(config)) || new RegExp(`^\\s*(override\\s+)?${v}\\s*[:=]`, 'm').test(config));
};

test('one Dockerfile, at the root: no app keeps its own', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && existsSync(join(ROOT, f)) && /(^|\/)Dockerfile(\.[^/]*)?$/.test(f));
  assert.deepEqual(files, ['Dockerfile']);
});

test('the Dockerfile: multi-stage, builds only $APP, focused production install, non-root, health-checked on /health/ready', () => {
  const ins = dockerfile();
  const final = Math.max(...ins.map((i) => i.stage));
  assert.ok(final >= 1, 'a build stage and a runtime stage');
  const build = ins.filter((i) => i.stage < final);
  const run = ins.filter((i) => i.stage === final);
  assert.ok(ins.some((i) => i.op === 'ARG' && /^APP\b/.test(i.args)), 'build argument APP');
  const buildRuns = build.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  assert.match(buildRuns, /tsc -b "?apps\/\$\{?APP\}?"?/, 'compiles only the app (and what it references)');
  assert.doesNotMatch(buildRuns, /tsc -b( tsconfig\.build\.json)?\s*($|&|\n)/, 'not the whole workspace');
  assert.match(buildRuns, /npm ci --omit=dev --workspace "?apps\/\$\{?APP\}?"?/, 'production install of that workspace only');
  // The runtime stage takes only the staged tree from the build stage, nothing from the context.
  for (const c of run.filter((i) => i.op === 'COPY' || i.op === 'ADD')) assert.match(c.args, /--from=build\b.*\/out\b/, `runtime copies only the staged tree: ${c.args}`);
  const users = run.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]);
  assert.ok(users.length > 0, 'USER set in the runtime stage');
  assert.ok(!['root', '0'].includes(users[users.length - 1]), 'runs as a non-root user');
  const hc = run.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK');
  assert.match(hc.args, /CMD .*healthcheck\.cjs/);
  assert.match(read('tools/healthcheck.cjs'), /\/health\/ready/);
  assert.ok(run.some((i) => i.op === 'ENV' && /NODE_ENV=production/.test(i.args)), 'NODE_ENV=production');
  assert.ok(run.some((i) => i.op === 'CMD' && /dist\/main\.js/.test(i.args)));
});

test("the health check's port is each app's default PORT (a container without PORT set is checked where it listens)", () => {
  const { DEFAULT_PORTS } = require('./healthcheck.cjs');
  for (const app of APPS) {
    const m = read(`apps/${app}/src/config.ts`).match(/^\s*(?:override\s+)?PORT: number = (\d+);/m);
    assert.ok(m, `${app} has a default PORT`);
    assert.equal(DEFAULT_PORTS[app], Number(m[1]), app);
  }
});

test('compose: every app service builds from the root Dockerfile with a valid APP, in production, with exactly the secrets its config reads', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const example = Object.fromEntries(read('.env.example').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
  const built = Object.entries(compose.services).filter(([, s]) => s.build);
  assert.ok(built.length >= 5, 'the four services and the simulator are built here');
  const seen = new Set();
  for (const [name, svc] of built) {
    assert.equal(typeof svc.build, 'object', `${name}: build: {context, args}`);
    assert.equal(svc.build.context, '.', `${name}: context is the repository root`);
    assert.ok(!svc.build.dockerfile || svc.build.dockerfile === 'Dockerfile', `${name}: the root Dockerfile`);
    const app = svc.build.args?.APP;
    assert.ok(APPS.includes(app), `${name}: APP ${app} is an app`);
    seen.add(app);
    const env = svc.environment ?? {};
    assert.equal(env.NODE_ENV, 'production', `${name}: NODE_ENV=production`);
    const needs = secretsRead(app);
    assert.deepEqual(SECRETS.filter((v) => v in env), needs, `${name} gets exactly the secrets ${app} reads`);
    for (const v of needs) {
      assert.match(String(env[v]), new RegExp(`^\\$\\{${v}:\\?[^}]+\\}$`), `${name}: ${v} comes from the environment/.env and is required`);
      assert.ok(example[v], `.env.example sets ${v}`);
    }
  }
  for (const app of ['order-receiving', 'order-processing', 'inventory', 'notification']) assert.ok(seen.has(app), `${app} in compose`);
  assert.ok(secretsRead('notification').includes('API_KEYS') && secretsRead('order-receiving').includes('EVENTS_TOKEN_SECRET'), 'the config scan finds the secrets');
});

test("compose: each app's configuration, as compose and .env.example set it, passes the app's own validation", () => {
  require(join(ROOT, 'node_modules', 'reflect-metadata'));
  const { loadConfig } = require(join(ROOT, 'libs', 'platform'));
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const example = Object.fromEntries(read('.env.example').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
  for (const [name, svc] of Object.entries(compose.services).filter(([, s]) => s.build)) {
    const env = Object.fromEntries(
      Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z_]+)(:[?-][^}]*)?\}/g, (_, n) => example[n] ?? '')]),
    );
    const config = require(join(ROOT, 'apps', svc.build.args.APP, 'dist', 'config.js'));
    const Env = Object.values(config).find((v) => typeof v === 'function' && /Env$/.test(v.name));
    assert.ok(Env, `${name}: its config class`);
    assert.doesNotThrow(() => loadConfig(Env, env), `${name}: configuration valid`);
  }
});

test('focused install dry run: every module an app (and each lib it uses) requires at run time is in its declared production closure', () => {
  const rootPkg = JSON.parse(read('package.json'));
  const rootVersions = { ...rootPkg.dependencies, ...rootPkg.devDependencies };
  const all = workspaces();
  for (const app of APPS.filter((a) => a !== 'system-e2e')) {
    const ws = workspaceClosure(app);
    const names = new Set(ws.map((w) => w.pkg.name));
    const closure = npmClosure(app);
    for (const w of ws) {
      const dist = join(ROOT, w.dir, 'dist');
      assert.ok(existsSync(dist), `${w.dir} is built`);
      for (const [mod, file] of requiredPackages(dist)) {
        if (all.has(mod)) assert.ok(names.has(mod) && mod in (w.pkg.dependencies ?? {}), `${file} requires ${mod}: list it in ${w.dir}/package.json dependencies`);
        else assert.ok(mod in (w.pkg.dependencies ?? {}) || closure.has(mod), `${file} requires ${mod}, which a production install of ${app} would not have`);
      }
      for (const [dep, range] of Object.entries(w.pkg.dependencies ?? {})) {
        if (!all.has(dep)) assert.equal(range, rootVersions[dep], `${w.dir}: ${dep} at the root package.json's version`);
      }
    }
    assert.ok(!names.has('@orders/testing'), `${app} does not ship the test rigs`);
  }
});

test('the staged image tree holds compiled code only: no sources, tests or test rigs', () => {
  const out = mkdtempSync(join(tmpdir(), 'focus-'));
  try {
    for (const app of APPS.filter((a) => a !== 'system-e2e')) {
      const dir = join(out, app);
      execFileSync(process.execPath, [join(ROOT, 'tools', 'focus.mjs'), 'stage', app, dir]);
      const files = readdirSync(dir, { recursive: true }).map(String);
      assert.ok(files.includes(join('apps', app, 'dist', 'main.js')), `${app}: main.js staged`);
      if (existsSync(join(ROOT, 'apps', app, 'src', 'migrate.ts'))) assert.ok(files.includes(join('apps', app, 'dist', 'migrate.js')), `${app}: migrate.js staged`);
      for (const w of workspaceClosure(app)) for (const entry of w.pkg.files ?? []) assert.ok(files.includes(join(w.dir, entry)), `${w.dir}/${entry} (package.json files) staged`);
      const bad = files.filter((f) => /(^|\/)(src|test|dist-test)(\/|$)|\.(spec|int-spec|e2e-spec)\.|tsbuildinfo|libs\/testing\/dist/.test(f));
      assert.deepEqual(bad, [], `${app}: nothing but compiled code and package files`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("Prometheus scrapes each service's /metrics with the admin token read from a file, which compose mounts from ADMIN_TOKEN", () => {
  const prom = parse(read('deploy/prometheus/prometheus.yml'));
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const mounted = (compose.services.prometheus.secrets ?? []).map((s) => (typeof s === 'string' ? { source: s } : s));
  for (const name of ['order-receiving', 'order-processing', 'inventory', 'notification']) {
    const job = prom.scrape_configs.find((j) => (j.static_configs ?? []).some((c) => c.targets.some((t) => t.startsWith(`${name}:`))));
    assert.ok(job, `a scrape job for ${name}`);
    const target = job.static_configs.flatMap((c) => c.targets).find((t) => t.startsWith(`${name}:`));
    assert.equal(target, `${name}:${compose.services[name].environment.PORT}`, `${name}: scraped where it listens`);
    const auth = job.authorization ?? {};
    assert.equal(auth.type ?? 'Bearer', 'Bearer', `${name}: bearer authorization`);
    assert.ok(auth.credentials_file && !auth.credentials && !job.bearer_token, `${name}: the token comes from a file, never written in the config`);
    const secret = mounted.find((s) => auth.credentials_file === (s.target?.startsWith('/') ? s.target : `/run/secrets/${s.target ?? s.source}`));
    assert.ok(secret, `${name}: compose mounts ${auth.credentials_file} into prometheus`);
    assert.equal(compose.secrets?.[secret.source]?.environment, 'ADMIN_TOKEN', `${name}: the file holds the services' ADMIN_TOKEN`);
  }
});
