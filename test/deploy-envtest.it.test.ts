/**
 * KubeCluster (the real Cluster of `make deploy`) against a real kube-apiserver + etcd
 * (tools/k8s-testenv: no kubelet, no controllers), started for this file and stopped after
 * it, pass or fail. What a bare API server can show: server-side apply with our field
 * manager and its conflicts, idempotent re-applies of the rendered platform/,
 * create-if-absent Secrets, the registries list merge, a release installed with its patches
 * and re-installed without ever writing the shipped values, the error classes (unknown kinds
 * are retryable, conflicts are not), and a wait that times out with the reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, dig, parseObjects, render, repoRoot } from '../cli/manifests/index.ts';
import { getProperty, loadReleases } from '../cli/manifests/releases.ts';
import { DeployError, execute } from '../cli/deploy/execute.ts';
import { fetchText } from '../cli/deploy/host.ts';
import { KubeCluster } from '../cli/deploy/kube.ts';
import { secretsToCreate } from '../cli/deploy/secrets.ts';
import { ClusterError, FIELD_MANAGER, type Host, type Step } from '../cli/deploy/steps.ts';
import { ClusterTarget } from '../cli/target/cluster.ts';
import { type RebuiltRelease, releaseText } from './upstream/releases.ts';

const TESTENV = join(repoRoot, 'tools', 'k8s-testenv', 'testenv.sh');
const RUN_DIR = join(repoRoot, '.run', 'deploy-envtest');
const ns = 'big-data-pipeline';

let cluster: KubeCluster;
let kubeconfig: string;

beforeAll(() => {
  // Owned by this process: should it die before afterAll, the servers stop with it.
  kubeconfig = execFileSync(TESTENV, ['start'], { env: { ...process.env, BDP_RUN_DIR: RUN_DIR, K8S_TESTENV_OWNER_PID: String(process.pid) }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  cluster = new KubeCluster({ kubeconfig });
}, 40 * 60_000);

afterAll(() => {
  execFileSync(TESTENV, ['stop'], { env: { ...process.env, BDP_RUN_DIR: RUN_DIR }, stdio: ['ignore', 'ignore', 'inherit'] });
});

const kubectl = (...args: string[]) => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet: Host = {
  has: async () => true,
  exists: () => true,
  run: async () => ({ code: 0, stdout: '', stderr: '' }),
  fetchText: (url) => fetchText(url),
  containerTool: async () => ({ tool: 'docker' as const }),
  log: () => undefined,
};
const run = (steps: Step[]) => execute(steps, cluster, quiet, { root: repoRoot, pollMs: 200, retryDelayMs: 200 });
const platform = render(join(repoRoot, 'platform'));
const namespace: K8sObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };

describe('KubeCluster against a real kube-apiserver', () => {
  it('info(): reaches the API server and reads its version', async () => {
    const info = await cluster.info();
    expect(info.version).toMatch(/^v1\.\d+\./);
    expect(info.minor).toBeGreaterThanOrEqual(30);
  });

  it('server-side applies the rendered platform/, twice, owned by our field manager', async () => {
    const objects = platform.filter((o) => o.kind !== 'Namespace');
    await cluster.apply([namespace], { force: false });
    await cluster.apply(objects, { force: false });
    await cluster.apply(objects, { force: false });
    const kafka = await k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig).read({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'kafka', namespace: ns } });
    expect(kafka.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply')).toBe(true);
    expect(kafka.metadata?.generation, 'a re-apply of the same object changes nothing').toBe(1);
  });

  it('a conflict with another manager is not retried, and FORCE takes the field over', async () => {
    const cm = platform.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kafka-settings')!;
    const key = Object.keys(cm['data'] as object)[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'envtest-'));
    try {
      writeFileSync(join(dir, 'cm.json'), JSON.stringify({ ...cm, data: { [key]: 'edited by hand' } }));
      kubectl('apply', '--server-side', '--field-manager=someone-else', '--force-conflicts', '-f', join(dir, 'cm.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const error = await cluster.apply([cm], { force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).retryable).toBe(false);
    expect((error as ClusterError).message).toMatch(/conflict/i);
    await cluster.apply([cm], { force: true });
    expect(await cluster.getConfigMap(ns, 'kafka-settings')).toEqual(cm['data']);
  });

  it('Secrets: created with random values when absent, never overwritten', async () => {
    // The Secrets a deploy of the base platform and pipeline creates (no certificates there).
    const deployed = [...render(join(repoRoot, 'platform')), ...render(join(repoRoot, 'knative'))];
    const steps: Step[] = secretsToCreate(ns, deployed).map((action) => ({ id: `secret:${action.name}`, kind: 'secret', description: '', action }));
    const first = await run(steps);
    expect(first.secrets.map((s) => s.outcome)).toEqual(['created', 'created', 'created', 'created']);
    const before = await cluster.getSecret(ns, 'elasticsearch-credentials');
    expect(before?.['username']).toBe('big-data-pipeline');
    expect(before?.['password']).toMatch(/^[A-Za-z0-9]{32}$/);
    const second = await run(steps);
    expect(second.secrets.map((s) => s.outcome)).toEqual(['kept', 'kept', 'kept', 'kept']);
    expect(await cluster.getSecret(ns, 'elasticsearch-credentials')).toEqual(before);
    expect(await cluster.createSecret(ns, 'grafana-admin', { 'admin-user': 'x', 'admin-password': 'y' }, {})).toBe('exists');
  });

  it('TARGET=cluster (make watch) reaches Elasticsearch as the pipeline user of elasticsearch-credentials', async () => {
    // The forwards find no pod behind the Services here (no kubelet): only the credentials are read.
    const ports = { kafka: 39092, elasticsearch: 39200, generate: 38080 };
    const generated = await cluster.getSecret(ns, 'elasticsearch-credentials');
    expect(await new ClusterTarget({ kubeconfig, ports }).elasticsearch()).toEqual({ url: 'http://127.0.0.1:39200', username: 'big-data-pipeline', password: generated?.['password'] });
    // No Secret there: no credentials, and no error.
    expect(await new ClusterTarget({ kubeconfig, ports, namespace: 'default' }).elasticsearch()).toEqual({ url: 'http://127.0.0.1:39200' });
  });

  it('registries-skipping-tag-resolving: appended to a custom list, only our key touched', async () => {
    await cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'knative-serving' } }], { force: false });
    kubectl('create', 'configmap', 'config-deployment', '-n', 'knative-serving', '--from-literal=registries-skipping-tag-resolving=registry.corp', '--from-literal=queue-sidecar-image=q:1');
    await run([{ id: 'configure:config-deployment', kind: 'configure', description: '', action: { type: 'ensure-list', namespace: 'knative-serving', configMap: 'config-deployment', key: 'registries-skipping-tag-resolving', whenAbsent: 'kind.local,ko.local,dev.local', entries: ['dev.local'] } }]);
    expect(await cluster.getConfigMap('knative-serving', 'config-deployment')).toEqual({ 'registries-skipping-tag-resolving': 'registry.corp,dev.local', 'queue-sidecar-image': 'q:1' });
  });

  it('applyObjects of a release reports its objects; its CRD becomes Established', async () => {
    const objects: K8sObject[] = [
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.dev' },
        spec: {
          group: 'example.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'widget-system' } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'widget-controller', namespace: 'widget-system' },
        spec: { selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'example/widget:1' }] } } },
      },
    ];
    const refs = await cluster.applyObjects(objects, { serverSide: true });
    expect(refs.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`).sort()).toEqual(['CustomResourceDefinition//widgets.example.dev', 'Deployment/widget-system/widget-controller', 'Namespace//widget-system']);
    const applied = new Map([['widgets', refs]]);
    const deadline = Date.now() + 10_000;
    let status = await cluster.check({ type: 'release-ready', release: 'widgets' }, applied);
    while (/widgets\.example\.dev/.test(status.detail) && Date.now() < deadline) status = await cluster.check({ type: 'release-ready', release: 'widgets' }, applied);
    expect(status.done).toBe(false);
    expect(status.detail, 'the CRD is Established; the Deployment has no controller to run it').toMatch(/^widget-controller 0\/1 available$/);
  });

  it('an object of a kind not installed yet is a retryable error', async () => {
    const ksvc = render(join(repoRoot, 'knative')).find((o) => o.kind === 'Service')!;
    const error = await cluster.apply([ksvc], { force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).retryable, (error as ClusterError).message).toBe(true);
  });

  it('a wait that cannot finish times out with what it waited for and why', async () => {
    const error = await execute(
      [{ id: 'wait:platform', kind: 'wait', description: '', action: { type: 'wait', waits: [{ type: 'statefulset-ready', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'kafka', namespace: ns } }], timeoutMs: 1500 } }],
      cluster,
      quiet,
      { root: repoRoot, pollMs: 300 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect((error as DeployError).message).toMatch(/^step wait:platform: timed out after 2 s waiting for StatefulSet\/kafka -n big-data-pipeline ready \(kafka 0\/1 ready\)$/);
  });

  it('delete, then the object is gone; deleting again is fine', async () => {
    const ref = { apiVersion: 'batch/v1', kind: 'Job', name: 'kafka-topics', namespace: ns };
    await cluster.delete(ref);
    await cluster.delete(ref);
    expect((await cluster.check({ type: 'gone', ref }, new Map())).done).toBe(true);
  });

  it('the plan steps apply:namespace and apply:platform go through execute() against it', async () => {
    await run([
      { id: 'apply:namespace', kind: 'apply', description: '', action: { type: 'apply', objects: [namespace], force: false } },
      { id: 'apply:platform', kind: 'apply', description: '', action: { type: 'apply', objects: platform.filter((o) => o.kind !== 'Namespace'), force: true } },
    ]);
  });
});

describe('re-deploying the Knative Kafka releases (upstream files of the pinned version)', () => {
  const KAFKA: RebuiltRelease[] = ['eventing-kafka-controller', 'eventing-kafka-source'];
  let server: Server;
  let base: string;
  /** Every version of config-kafka-features the API server stored, in order. */
  const flagHistory: (string | undefined)[] = [];
  let stopWatch: (() => void) | undefined;

  beforeAll(async () => {
    // Admission webhook registrations are left out: no webhook pod answers on a bare API server.
    const served = new Map(
      KAFKA.map((name) => [
        `/${name}.yaml`,
        releaseText(name)
          .split(/^---\s*$/m)
          .filter((doc) => !/^kind:\s*(Mutating|Validating)WebhookConfiguration\s*$/m.test(doc))
          .join('\n---\n'),
      ]),
    );
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/yaml' }).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'knative-eventing' } }], { force: false });
    const watch = new k8s.Watch(cluster.kubeConfig);
    const request = await watch.watch(
      '/api/v1/namespaces/knative-eventing/configmaps',
      { fieldSelector: 'metadata.name=config-kafka-features' },
      (_type, object: { data?: Record<string, string> }) => flagHistory.push(object.data?.['controller-autoscaler-keda']),
      () => undefined,
    );
    stopWatch = () => request.abort();
  });

  afterAll(async () => {
    stopWatch?.();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** The deploy's own install steps for the Kafka releases, pointed at the local copies. */
  function installSteps(): Step[] {
    return loadReleases()
      .filter((r) => (KAFKA as string[]).includes(r.name))
      .map((r) => ({ id: `install:${r.name}`, kind: 'install' as const, description: '', action: { type: 'apply-release' as const, release: r.name, url: `${base}/${r.name}.yaml`, serverSide: r.serverSide, patches: r.patches } }));
  }

  async function settled(): Promise<void> {
    // The watch delivers what etcd stored; give it a moment to catch up with the last apply.
    const count = flagHistory.length;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (flagHistory.length === count && i > 3) return;
    }
  }

  it('a first and a second deploy never store controller-autoscaler-keda: disabled, and the dispatcher settings survive', async () => {
    await run(installSteps());
    const api = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    const controller = () => api.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kafka-controller', namespace: 'knative-eventing' } }) as Promise<K8sObject & k8s.KubernetesObject>;
    const generation = (await controller()).metadata?.generation;
    await run(installSteps());
    await settled();

    expect(flagHistory.length, 'the watch saw the flag being written').toBeGreaterThan(0);
    expect(flagHistory.every((v) => v === 'enabled'), `stored values: ${flagHistory.join(', ')}`).toBe(true);

    const env = Object.fromEntries(((dig(await controller(), 'spec', 'template', 'spec', 'containers', 0, 'env') as { name: string; value?: string }[]) ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ POD_CAPACITY: '1', DISPATCHERS_MIN_REPLICAS: '0' });
    expect((await controller()).metadata?.generation, 'the second deploy changed nothing in the controller').toBe(generation);
    const dataPlane = await cluster.getConfigMap('knative-eventing', 'config-kafka-source-data-plane');
    expect(getProperty(dataPlane!['config-kafka-source-consumer.properties']!, 'max.poll.records')).toBe('50');
    const dispatcher = (await api.read({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'kafka-source-dispatcher', namespace: 'knative-eventing' } })) as K8sObject;
    expect(dig(dispatcher, 'spec', 'template', 'spec', 'containers', 0, 'resources')).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  });

  it('the watch would have caught it: the release as shipped stores disabled', async () => {
    const before = flagHistory.length;
    await cluster.applyObjects(
      parseObjects(await fetchText(`${base}/eventing-kafka-controller.yaml`)).filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'config-kafka-features'),
      { serverSide: false },
    );
    await settled();
    expect(flagHistory.slice(before)).toContain('disabled');
  });
});
