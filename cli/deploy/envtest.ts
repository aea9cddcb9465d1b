/**
 * `make test-deploy-envtest`: KubeCluster (the real Cluster of `make deploy`) against a real
 * kube-apiserver + etcd (tools/k8s-testenv, no kubelet, no controllers), pointed at by
 * KUBECONFIG. What a bare API server can show: server-side apply with our field manager and
 * its conflicts, idempotent re-applies of the rendered platform/, create-if-absent Secrets,
 * the registries list merge, kubectl apply of a release file with a CRD (Established), the
 * error classes (unknown kinds are retryable, conflicts are not), and a wait that times out
 * with the reason (nothing becomes Available without controllers). Prints "N passed, N failed".
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type K8sObject, render, repoRoot } from '../manifests.ts';
import { DeployError, execute } from './execute.ts';
import { KubeCluster } from './kube.ts';
import { FIELD_MANAGER, generatedSecrets } from './plan.ts';
import { ClusterError, type Step } from './steps.ts';

if (!process.env['KUBECONFIG']) {
  console.error('KUBECONFIG must point at a test API server (tools/k8s-testenv/testenv.sh start)');
  process.exit(2);
}
const cluster = new KubeCluster();
const ns = 'big-data-pipeline';
const results: { name: string; error?: unknown }[] = [];
async function check(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    results.push({ name });
    console.log(`  ✓ ${name}`);
  } catch (error) {
    results.push({ name, error });
    console.log(`  ✗ ${name}\n      ${(error as Error).stack?.split('\n').slice(0, 4).join('\n      ')}`);
  }
}
const quiet = { has: async () => true, exists: () => true, run: async () => ({ code: 0, stdout: '', stderr: '' }), containerTool: async () => ({ tool: 'docker' as const }), log: () => undefined };
const run = (steps: Step[]) => execute(steps, cluster, quiet, { root: repoRoot, pollMs: 200, retryDelayMs: 200 });
const platform = render(join(repoRoot, 'platform'));
const namespace: K8sObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };

await check('info(): reaches the API server and reads its version', async () => {
  const info = await cluster.info();
  assert.match(info.version, /^v1\.\d+\./);
  assert.ok(info.minor >= 30);
});

await check('server-side applies the rendered platform/, twice, owned by our field manager', async () => {
  const objects = platform.filter((o) => o.kind !== 'Namespace');
  await cluster.apply([namespace], { force: false });
  await cluster.apply(objects, { force: false });
  await cluster.apply(objects, { force: false });
  const kafka = await k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig).read({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'kafka', namespace: ns } });
  assert.ok(kafka.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply'));
  assert.equal(kafka.metadata?.generation, 1, 'a re-apply of the same object changes nothing');
});

await check('a conflict with another manager is not retried, and FORCE takes the field over', async () => {
  const cm = platform.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kafka-settings')!;
  const key = Object.keys(cm['data'] as object)[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'envtest-'));
  const edited = { ...cm, data: { [key]: 'edited by hand' } };
  writeFileSync(join(dir, 'cm.json'), JSON.stringify(edited));
  execFileSync('kubectl', ['apply', '--server-side', '--field-manager=someone-else', '--force-conflicts', '-f', join(dir, 'cm.json')], { stdio: 'ignore' });
  const error = await cluster.apply([cm], { force: false }).catch((e: unknown) => e);
  assert.ok(error instanceof ClusterError, String(error));
  assert.equal(error.retryable, false);
  assert.match(error.message, /conflict/i);
  await cluster.apply([cm], { force: true });
  assert.deepEqual(await cluster.getConfigMap(ns, 'kafka-settings'), cm['data']);
});

await check('Secrets: created with random values when absent, never overwritten', async () => {
  const steps: Step[] = generatedSecrets(ns).map((action) => ({ id: `secret:${action.name}`, kind: 'secret', description: '', action }));
  const first = await run(steps);
  assert.deepEqual(first.secrets.map((s) => s.outcome), ['created', 'created', 'created', 'created']);
  const before = await cluster.getSecret(ns, 'elasticsearch-credentials');
  assert.equal(before?.['username'], 'big-data-pipeline');
  assert.match(before?.['password'] ?? '', /^[A-Za-z0-9]{32}$/);
  const second = await run(steps);
  assert.deepEqual(second.secrets.map((s) => s.outcome), ['kept', 'kept', 'kept', 'kept']);
  assert.deepEqual(await cluster.getSecret(ns, 'elasticsearch-credentials'), before);
  assert.equal(await cluster.createSecret(ns, 'grafana-admin', { 'admin-user': 'x', 'admin-password': 'y' }, {}), 'exists');
});

await check('registries-skipping-tag-resolving: appended to a custom list, only our key touched', async () => {
  await cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'knative-serving' } }], { force: false });
  execFileSync('kubectl', ['create', 'configmap', 'config-deployment', '-n', 'knative-serving', '--from-literal=registries-skipping-tag-resolving=registry.corp', '--from-literal=queue-sidecar-image=q:1'], { stdio: 'ignore' });
  await run([{ id: 'configure:config-deployment', kind: 'configure', description: '', action: { type: 'ensure-list', namespace: 'knative-serving', configMap: 'config-deployment', key: 'registries-skipping-tag-resolving', whenAbsent: 'kind.local,ko.local,dev.local', entries: ['dev.local'] } }]);
  assert.deepEqual(await cluster.getConfigMap('knative-serving', 'config-deployment'), { 'registries-skipping-tag-resolving': 'registry.corp,dev.local', 'queue-sidecar-image': 'q:1' });
});

await check('kubectl apply of a release file reports its objects; its CRD becomes Established', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'envtest-'));
  const file = join(dir, 'release.yaml');
  writeFileSync(
    file,
    `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.dev}
spec:
  group: example.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: Namespace
metadata: {name: widget-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: widget-controller, namespace: widget-system}
spec:
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec: {containers: [{name: c, image: "example/widget:1"}]}
`,
  );
  const refs = await cluster.applyUrl(file, { serverSide: true });
  assert.deepEqual(refs.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`).sort(), ['CustomResourceDefinition//widgets.example.dev', 'Deployment/widget-system/widget-controller', 'Namespace//widget-system']);
  const applied = new Map([['widgets', refs]]);
  const deadline = Date.now() + 10_000;
  let status = await cluster.check({ type: 'release-ready', release: 'widgets' }, applied);
  while (/widgets\.example\.dev/.test(status.detail) && Date.now() < deadline) status = await cluster.check({ type: 'release-ready', release: 'widgets' }, applied);
  assert.equal(status.done, false);
  assert.match(status.detail, /^widget-controller 0\/1 available$/, 'the CRD is Established; the Deployment has no controller to run it');
});

await check('an object of a kind not installed yet is a retryable error', async () => {
  const ksvc = render(join(repoRoot, 'knative')).find((o) => o.kind === 'Service')!;
  const error = await cluster.apply([ksvc], { force: false }).catch((e: unknown) => e);
  assert.ok(error instanceof ClusterError, String(error));
  assert.equal(error.retryable, true, error.message);
});

await check('a wait that cannot finish times out with what it waited for and why', async () => {
  const error = await execute(
    [{ id: 'wait:platform', kind: 'wait', description: '', action: { type: 'wait', waits: [{ type: 'statefulset-ready', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'kafka', namespace: ns } }], timeoutMs: 1500 } }],
    cluster,
    quiet,
    { root: repoRoot, pollMs: 300 },
  ).catch((e: unknown) => e);
  assert.ok(error instanceof DeployError);
  assert.match(error.message, /^step wait:platform: timed out after 2 s waiting for StatefulSet\/kafka -n big-data-pipeline ready \(kafka 0\/1 ready\)$/);
});

await check('delete, then the object is gone; deleting again is fine', async () => {
  const ref = { apiVersion: 'batch/v1', kind: 'Job', name: 'kafka-topics', namespace: ns };
  await cluster.delete(ref);
  await cluster.delete(ref);
  assert.equal((await cluster.check({ type: 'gone', ref }, new Map())).done, true);
});

await check('the plan steps apply:namespace and apply:platform go through execute() against it', async () => {
  await run([
    { id: 'apply:namespace', kind: 'apply', description: '', action: { type: 'apply', objects: [namespace], force: false } },
    { id: 'apply:platform', kind: 'apply', description: '', action: { type: 'apply', objects: platform.filter((o) => o.kind !== 'Namespace'), force: true } },
  ]);
});

const failed = results.filter((r) => r.error).length;
console.log(`\n${results.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
