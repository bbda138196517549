// deploy/k8s, checked without a cluster: every manifest validates against the Kubernetes schemas
// (kubernetes-models) and KEDA's (@kubernetes-models/keda); the kustomizations list only files that
// exist; every Deployment has probes, resources, a PodDisruptionBudget and a Service; every service
// that consumes a queue scales on each of its queues; secrets are referenced, never stored in base.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './focus.mjs';

const require = createRequire(import.meta.url);
const K8S = join(ROOT, 'deploy', 'k8s');
const SECRETS = ['API_KEYS', 'ADMIN_TOKEN', 'EVENTS_TOKEN_SECRET'];
const SERVICES = ['order-receiving', 'order-processing', 'inventory', 'notification'];
const MQ_PREFIX = 'orders';
const { QUEUES } = require(join(ROOT, 'libs', 'contracts'));

function load(dir) {
  const out = [];
  for (const f of readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${f} parses`);
      if (d.contents) out.push({ file: join(dir, f), obj: d.toJS() });
    }
  }
  return out;
}
const all = load(K8S);
const isKustomization = (o) => o.kind === 'Kustomization';
const manifests = (dir) => all.filter((m) => m.file.startsWith(dir) && !isKustomization(m.obj)).map((m) => m.obj);
const base = manifests(join(K8S, 'base'));
const dev = [...base, ...manifests(join(K8S, 'overlays', 'dev'))];
const ofKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
/** BaseEnv's ADMIN_TOKEN for every service that extends it (the operators' endpoints), and the app's own. */
const secretsRead = (app) => {
  const config = readFileSync(join(ROOT, 'apps', app, 'src', 'config.ts'), 'utf8');
  return SECRETS.filter((v) => (v === 'ADMIN_TOKEN' && /extends BaseEnv/.test(config)) || new RegExp(`^\\s*(override\\s+)?${v}\\s*[:=]`, 'm').test(config));
};

function modelFor(apiVersion, kind) {
  if (apiVersion.startsWith('keda.sh/')) return require(`@kubernetes-models/keda/${apiVersion}/${kind}`)[kind];
  return require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
}

test('every manifest validates against its schema (Kubernetes, KEDA)', () => {
  const objs = all.filter((m) => !isKustomization(m.obj));
  assert.ok(objs.length >= 20);
  for (const { file, obj } of objs) {
    let Model;
    try {
      Model = modelFor(obj.apiVersion, obj.kind);
    } catch {
      assert.fail(`${file}: unknown kind ${obj.apiVersion} ${obj.kind}`);
    }
    assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

test('the schema validation catches a broken manifest', () => {
  const d = structuredClone(ofKind(base, 'Deployment')[0]);
  d.spec.template.spec.containers[0].resources.limits.memory = 'lots';
  const { Deployment } = require('kubernetes-models/apps/v1/Deployment');
  assert.throws(() => new Deployment(d).validate());
  const s = structuredClone(ofKind(base, 'ScaledObject')[0]);
  delete s.spec.scaleTargetRef;
  assert.throws(() => new (modelFor(s.apiVersion, s.kind))(s).validate());
});

test('kustomizations: every resource they list exists, every image they pin is used', () => {
  const ks = all.filter((m) => isKustomization(m.obj));
  assert.deepEqual(ks.map((k) => k.file.slice(K8S.length + 1)).sort(), ['base/kustomization.yaml', 'overlays/dev/kustomization.yaml']);
  const images = new Set(all.flatMap((m) => [...(m.obj.spec?.template?.spec?.containers ?? [])].map((c) => c.image.split(':')[0])));
  for (const { file, obj } of ks) {
    assert.equal(obj.apiVersion, 'kustomize.config.k8s.io/v1beta1');
    for (const r of obj.resources ?? []) {
      const p = join(dirname(file), r);
      assert.ok(existsSync(p) && (!r.startsWith('..') || existsSync(join(p, 'kustomization.yaml'))), `${file}: resource ${r} exists`);
    }
    for (const img of obj.images ?? []) assert.ok(images.has(img.name), `${file}: image ${img.name} is used`);
  }
  // every file in a kustomization's folder is listed, so nothing is silently left out
  for (const { file, obj } of ks) {
    const here = readdirSync(dirname(file)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual(here.filter((f) => !(obj.resources ?? []).includes(f)), [], `${file} lists every manifest beside it`);
  }
});

test('every Deployment: startup, liveness and readiness probes, resources, non-root, a Service and a PodDisruptionBudget', () => {
  const deployments = ofKind(dev, 'Deployment');
  for (const s of SERVICES) assert.ok(ofKind(base, 'Deployment').some((d) => d.metadata.name === s), `base deploys ${s}`);
  for (const d of deployments) {
    const name = d.metadata.name;
    const pod = d.spec.template;
    assert.ok(matches(d.spec.selector.matchLabels, pod.metadata.labels), `${name}: selector matches its pods`);
    for (const c of pod.spec.containers) {
      assert.equal(c.livenessProbe?.httpGet?.path, '/health/live', `${name}: liveness /health/live`);
      assert.equal(c.readinessProbe?.httpGet?.path, '/health/ready', `${name}: readiness /health/ready`);
      assert.ok(c.startupProbe?.httpGet?.path, `${name}: startup probe`);
      assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${name}: cpu/memory requests and a memory limit`);
      assert.equal(c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot, true, `${name}: non-root`);
      assert.match(c.image, new RegExp(`^orders/${name}:`), `${name}: its own image`);
      const port = c.ports.find((p) => p.name === 'http').containerPort;
      assert.deepEqual(c.env.find((e) => e.name === 'PORT'), { name: 'PORT', value: String(port) }, `${name}: listens where probed`);
    }
    assert.ok(ofKind(dev, 'PodDisruptionBudget').some((p) => matches(p.spec.selector.matchLabels, pod.metadata.labels)), `${name}: a PodDisruptionBudget`);
    assert.ok(ofKind(dev, 'Service').some((s) => matches(s.spec.selector, pod.metadata.labels)), `${name}: a Service`);
  }
});

test('secrets are referenced where each config reads them, and never stored in base', () => {
  assert.deepEqual(ofKind(base, 'Secret'), [], 'no Secret in base');
  const baseK = all.find((m) => m.file === join(K8S, 'base', 'kustomization.yaml')).obj;
  assert.equal(baseK.secretGenerator, undefined, 'no secret generator in base');
  const devK = all.find((m) => m.file === join(K8S, 'overlays', 'dev', 'kustomization.yaml')).obj;
  const devSecretKeys = new Set(devK.secretGenerator.find((g) => g.name === 'orders-secrets').literals.map((l) => l.split('=')[0]));
  const configKeys = new Set([...baseK.configMapGenerator, ...devK.configMapGenerator].flatMap((g) => g.literals.map((l) => l.split('=')[0])));
  const pods = [...ofKind(base, 'Deployment').map((d) => d.spec.template.spec.containers), ofKind(base, 'Job').flatMap((j) => j.spec.template.spec.containers)].flat();
  for (const c of pods) {
    const app = c.image.split(':')[0].replace('orders/', '');
    const fromSecret = c.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef);
    assert.deepEqual(SECRETS.filter((v) => fromSecret.some((r) => r.key === v)), secretsRead(app), `${c.name}: exactly the secrets ${app} reads`);
    for (const v of ['DATABASE_URL', 'RABBITMQ_URL']) assert.ok(fromSecret.some((r) => r.key === v), `${c.name}: ${v} from the Secret (it carries credentials)`);
    for (const r of fromSecret) assert.ok(r.name === 'orders-secrets' && devSecretKeys.has(r.key), `${c.name}: ${r.key} is provided by the dev overlay`);
    for (const e of c.env) assert.ok(!SECRETS.includes(e.name) || !('value' in e), `${c.name}: ${e.name} has no literal value`);
    for (const e of c.env.filter((e) => e.valueFrom?.configMapKeyRef)) assert.ok(configKeys.has(e.valueFrom.configMapKeyRef.key), `${c.name}: ${e.name} is in orders-config`);
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: 'orders-config' } }]);
  }
});

test("the dev overlay's configuration of each Deployment passes that app's own validation", () => {
  require(join(ROOT, 'node_modules', 'reflect-metadata'));
  const { loadConfig } = require(join(ROOT, 'libs', 'platform'));
  const kOf = (dir) => all.find((m) => m.file === join(K8S, dir, 'kustomization.yaml')).obj;
  const literals = (gens) => Object.fromEntries(gens.flatMap((g) => g.literals.map((l) => l.split(/=(.*)/s).slice(0, 2))));
  const config = { ...literals(kOf('base').configMapGenerator), ...literals(kOf(join('overlays', 'dev')).configMapGenerator) };
  const secrets = literals(kOf(join('overlays', 'dev')).secretGenerator);
  for (const d of ofKind(dev, 'Deployment')) {
    for (const c of d.spec.template.spec.containers) {
      const env = { ...config };
      for (const e of c.env) env[e.name] = e.value ?? (e.valueFrom.secretKeyRef ? secrets[e.valueFrom.secretKeyRef.key] : config[e.valueFrom.configMapKeyRef.key]);
      const app = c.image.split(':')[0].replace('orders/', '');
      const Env = Object.values(require(join(ROOT, 'apps', app, 'dist', 'config.js'))).find((v) => typeof v === 'function' && /Env$/.test(v.name));
      assert.doesNotThrow(() => loadConfig(Env, env), `${d.metadata.name}: configuration valid`);
    }
  }
});

test('every service that consumes a queue has a KEDA ScaledObject on each of its queues', () => {
  const auths = new Set(ofKind(base, 'TriggerAuthentication').map((a) => a.metadata.name));
  const scaled = ofKind(base, 'ScaledObject');
  const consumers = new Set(Object.keys(QUEUES).map((q) => q.split('.')[0]));
  assert.ok(consumers.size >= 4);
  for (const svc of consumers) {
    const so = scaled.find((s) => s.spec.scaleTargetRef.name === svc);
    assert.ok(so, `${svc} has a ScaledObject`);
    assert.ok(ofKind(base, 'Deployment').some((d) => d.metadata.name === svc), `${svc}: it targets a Deployment`);
    const rabbit = so.spec.triggers.filter((t) => t.type === 'rabbitmq');
    const want = Object.keys(QUEUES).filter((q) => q.startsWith(`${svc}.`)).map((q) => `${MQ_PREFIX}.${q}`).sort();
    assert.deepEqual(rabbit.map((t) => t.metadata.queueName).sort(), want, `${svc} scales on its queues`);
    for (const t of rabbit) {
      assert.ok(auths.has(t.authenticationRef?.name), `${svc}: trigger authentication exists`);
      assert.ok(Number(t.metadata.value) > 0 && ['QueueLength', 'MessageRate'].includes(t.metadata.mode));
    }
    assert.ok(so.spec.minReplicaCount >= 1 && so.spec.maxReplicaCount > so.spec.minReplicaCount, `${svc}: a replica range`);
  }
  for (const a of ofKind(base, 'TriggerAuthentication')) for (const r of a.spec.secretTargetRef) assert.equal(r.name, 'orders-secrets');
});

test('the migration Job runs every service\'s dist/migrate.js', () => {
  const [job] = ofKind(base, 'Job');
  assert.ok(job, 'a migration Job');
  const byApp = new Map(job.spec.template.spec.containers.map((c) => [c.image.split(':')[0].replace('orders/', ''), c]));
  for (const s of SERVICES) {
    assert.deepEqual(byApp.get(s)?.command, ['node', 'dist/migrate.js'], `${s} migrates`);
    assert.ok(existsSync(join(ROOT, 'apps', s, 'src', 'migrate.ts')), `${s} has a migrate entry point`);
  }
  assert.ok(['Never', 'OnFailure'].includes(job.spec.template.spec.restartPolicy));
});
