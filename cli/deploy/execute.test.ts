/**
 * SEAM TEST. execute() against an in-memory `Cluster` and `Host`: only the control flow
 * of the deploy is under test here (order of operations, retries while something is not
 * ready yet, idempotent re-runs, create-if-absent Secrets, clear errors on timeouts). It
 * says nothing about the real API server's behaviour: server-side apply semantics,
 * conditions and finalizers are exercised by the envtest target against a real
 * kube-apiserver (KubeCluster pointed at its kubeconfig), or on a cluster.
 */
import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../manifests/index.ts';
import { DeployError, execute } from './execute.ts';
import { fakePlatform, repoPlanOptions } from '../../test/deploy-fixtures.ts';
import { loadReleases } from '../manifests/releases.ts';
import { plan } from './plan.ts';
import { type Access, type Cluster, ClusterError, type ClusterInfo, type Host, type ObjectRef, type RunResult, type Step, type WaitFor, type WaitStatus } from './steps.ts';

const key = (r: { kind: string; name: string; namespace?: string }) => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

class FakeCluster implements Cluster {
  readonly objects = new Map<string, K8sObject>();
  readonly configMaps = new Map<string, Record<string, string>>();
  readonly secrets = new Map<string, Record<string, string>>();
  /** Every mutating call, in order. */
  readonly log: string[] = [];
  /** Polls that answer "not yet" before an object counts as ready. */
  readonly notReadyPolls = new Map<string, number>();
  /** Retryable failures an apply meets before it goes through. */
  readonly applyFailures = new Map<string, ClusterError[]>();
  readonly failedJobs = new Set<string>();
  polls = 0;

  /** null: no current context. */
  constructor(private readonly context: string | null = 'kind-bdp') {}

  contextName() {
    return this.context ?? undefined;
  }
  async info(): Promise<ClusterInfo> {
    return { context: this.context ?? '', server: 'https://127.0.0.1:6443', version: 'v1.34.2', minor: 34 };
  }
  async apply(objects: K8sObject[], options: { force: boolean }): Promise<void> {
    for (const o of objects) {
      const failures = this.applyFailures.get(key(refOf(o)));
      const failure = failures?.shift();
      if (failure) throw failure;
      this.log.push(`apply ${o.kind}/${o.metadata.name}${options.force ? ' (force)' : ''}`);
      if (o.kind === 'ConfigMap') {
        const k = `${o.metadata.namespace}/${o.metadata.name}`;
        this.configMaps.set(k, { ...this.configMaps.get(k), ...(o['data'] as Record<string, string>) });
      } else {
        this.objects.set(key(refOf(o)), structuredClone(o));
      }
    }
  }
  /** Patched release objects as applied, by release. */
  readonly releases = new Map<string, K8sObject[]>();
  async applyObjects(objects: K8sObject[]): Promise<ObjectRef[]> {
    const name = objects[0]!.metadata.name.replace(/^things\./, '').replace(/\.dev$/, '');
    this.log.push(`install ${name}`);
    this.releases.set(name, objects);
    return objects.map(refOf);
  }
  async check(wait: WaitFor, applied: ReadonlyMap<string, ObjectRef[]>): Promise<WaitStatus> {
    this.polls++;
    const id = wait.type === 'release-ready' ? `release/${wait.release}` : key(wait.ref);
    if (wait.type === 'release-ready' && !applied.has(wait.release)) return { done: false, detail: 'not installed' };
    if (wait.type !== 'release-ready' && wait.type !== 'gone' && !this.objects.has(id)) return { done: false, detail: 'not created yet' };
    if (this.failedJobs.has(id)) return { done: false, failed: true, detail: `${id}: BackoffLimitExceeded` };
    const left = this.notReadyPolls.get(id) ?? 0;
    if (left > 0) {
      this.notReadyPolls.set(id, left - 1);
      return { done: false, detail: `${id} 0/1 ready` };
    }
    return { done: true, detail: 'ready' };
  }
  async getConfigMap(namespace: string, name: string) {
    return this.configMaps.get(`${namespace}/${name}`);
  }
  async getSecret(namespace: string, name: string) {
    const s = this.secrets.get(`${namespace}/${name}`);
    return s && { ...s };
  }
  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<'created' | 'exists'> {
    if (this.secrets.has(`${namespace}/${name}`)) return 'exists';
    this.log.push(`secret ${name}`);
    this.secrets.set(`${namespace}/${name}`, { ...data });
    return 'created';
  }
  async delete(ref: ObjectRef) {
    this.log.push(`delete ${ref.kind}/${ref.name}`);
    this.objects.delete(key(ref));
  }
  async deleteUrl(url: string) {
    this.log.push(`uninstall ${url}`);
  }
  async access(): Promise<Access> {
    return { services: [{ name: 'generate', url: 'http://generate.big-data-pipeline.example.com', ready: true }], kourier: { nodePort: 31080, nodeAddress: '172.18.0.2' } };
  }
}

function refOf(o: K8sObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
}

class FakeHost implements Host {
  readonly commands: string[] = [];
  readonly lines: string[] = [];
  constructor(
    private readonly tools = new Set(['kubectl', 'docker', 'kind']),
    /** null: neither engine answers. */
    private readonly engine: 'docker' | 'podman' | null = 'docker',
  ) {}
  async has(command: string) {
    return this.tools.has(command);
  }
  exists() {
    return true;
  }
  async run(command: string, args: string[]): Promise<RunResult> {
    this.commands.push([command, ...args].join(' '));
    return { code: 0, stdout: '', stderr: '' };
  }
  /** A release manifest: a CRD and a controller, plus an object for each patch of that release in keda/releases.yaml. */
  async fetchText(url: string): Promise<string> {
    const name = url.split('/').pop()!.replace(/\.yaml$/, '');
    const objects: K8sObject[] = [
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `things.${name}.dev` } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `${name}-controller`, namespace: 'system' } },
    ];
    for (const patch of loadReleases().find((r) => r.url === url)?.patches ?? []) {
      objects.push(
        patch.kind === 'ConfigMap'
          ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: patch.name, namespace: 'system' }, data: Object.fromEntries(Object.keys(patch.properties ?? {}).map((k) => [k, 'a=1\n'])) }
          : { apiVersion: 'apps/v1', kind: patch.kind, metadata: { name: patch.name, namespace: 'system' }, spec: { template: { spec: { containers: [{ name: patch.container, env: [] }] } } } },
      );
    }
    return objects.map((o) => JSON.stringify(o)).join('\n---\n');
  }
  async containerTool() {
    return this.engine ? { tool: this.engine } : { tool: undefined, why: 'no container engine to build the function images: docker is installed but its engine does not answer' };
  }
  log(line: string) {
    this.lines.push(line);
  }
}

/** A clock that only moves when the executor sleeps. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
}

const steps = plan(repoPlanOptions());
const run = (cluster: Cluster, host: Host, s: Step[] = steps, time = fakeTime()) =>
  execute(s, cluster, host, { root: '/repo', sleep: time.sleep, now: time.now, pollMs: 1000, retryDelayMs: 1 });

describe('execute() against a fake cluster [seam test: control flow only]', () => {
  it('carries out the plan in order: releases (patched), namespace, secrets, platform, images, pipeline', async () => {
    const cluster = new FakeCluster();
    const host = new FakeHost();
    const report = await run(cluster, host);
    expect(report.steps).toBe(steps.length);

    const order = cluster.log;
    const index = (entry: string) => {
      const i = order.indexOf(entry);
      expect(i, `${entry} in ${order.join(' | ')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(index('install keda-2.20.2')).toBeLessThan(index('install serving-crds'));
    expect(index('install eventing-kafka-sink')).toBeLessThan(index('apply Namespace/big-data-pipeline'));
    // The release went in with the flag already enabled in its YAML.
    const features = cluster.releases.get('eventing-kafka-controller')!.find((o) => o.metadata.name === 'config-kafka-features');
    expect(features?.['data']).toEqual({ 'controller-autoscaler-keda': 'enabled' });
    expect(index('secret grafana-admin')).toBeLessThan(index('apply StatefulSet/kafka'));
    expect(index('apply Service/generate')).toBeLessThan(index('apply KafkaSource/enrich'));
    expect(index('apply KafkaSource/window-aggregate')).toBeLessThan(index('apply PingSource/generate-tick'));
    // kind gets an archive (`kind load docker-image` fails on Docker 29's containerd image store).
    const load = host.commands.findIndex((c) => /^kind load image-archive \S+dev\.local_big-data-pipeline_enrich_0\.1\.0\.tar --name bdp$/.test(c));
    expect(host.commands.some((c) => c.startsWith('kind load docker-image'))).toBe(false);
    expect(load).toBeGreaterThan(host.commands.findIndex((c) => /^docker save -o \S+dev\.local_big-data-pipeline_enrich_0\.1\.0\.tar dev\.local\/big-data-pipeline\/enrich:0\.1\.0$/.test(c)));
    expect(host.commands.findIndex((c) => c.startsWith('docker save') && c.includes('enrich'))).toBeGreaterThan(
      host.commands.indexOf('docker build -f images/function.Dockerfile --build-arg FUNCTION=enrich -t dev.local/big-data-pipeline/enrich:0.1.0 .'),
    );
    expect(host.commands.filter((c) => c.startsWith('docker build'))).toHaveLength(4);
    expect(host.lines.join('\n')).toMatch(/curl -i -H "Host: generate\.big-data-pipeline\.example\.com" http:\/\/172\.18\.0\.2:31080/);
  });

  it('waits on not-ready objects by polling, and moves on once they are ready', async () => {
    const cluster = new FakeCluster();
    cluster.notReadyPolls.set('StatefulSet/big-data-pipeline/elasticsearch', 5);
    cluster.notReadyPolls.set('Service/big-data-pipeline/generate', 3);
    const time = fakeTime();
    await run(cluster, new FakeHost(), steps, time);
    expect(cluster.notReadyPolls.get('StatefulSet/big-data-pipeline/elasticsearch')).toBe(0);
    expect(time.elapsed()).toBeGreaterThanOrEqual(5000);
  });

  it('retries an apply that fails for a passing reason (a webhook not serving yet)', async () => {
    const cluster = new FakeCluster();
    const webhook = new ClusterError('KafkaSource/enrich: failed calling webhook "defaulting.webhook.kafka.eventing.knative.dev": connection refused', true);
    cluster.applyFailures.set('KafkaSource/big-data-pipeline/enrich', [webhook, webhook]);
    const host = new FakeHost();
    await run(cluster, host);
    expect(cluster.objects.has('KafkaSource/big-data-pipeline/enrich')).toBe(true);
    expect(host.lines.filter((l) => l.includes('not yet (KafkaSource/enrich: failed calling webhook'))).toHaveLength(2);
  });

  it('stops at once on an error that will not pass, naming the step', async () => {
    const cluster = new FakeCluster();
    cluster.applyFailures.set('Service/big-data-pipeline/index', [new ClusterError('Service/index: admission webhook denied the request: spec.template: invalid value', false)]);
    await expect(run(cluster, new FakeHost())).rejects.toThrow(/step apply:services: apply .*admission webhook denied/);
    expect(cluster.log.some((l) => l.startsWith('apply KafkaSource'))).toBe(false);
  });

  it('gives up on a retryable error after the attempts', async () => {
    const cluster = new FakeCluster();
    cluster.applyFailures.set('Namespace//big-data-pipeline', Array.from({ length: 10 }, () => new ClusterError('connection refused', true)));
    await expect(run(cluster, new FakeHost())).rejects.toThrow(/step apply:namespace: .*still failing after 6 attempts: connection refused/);
  });

  it('fails with a clear message when a wait times out', async () => {
    const cluster = new FakeCluster();
    cluster.notReadyPolls.set('Service/big-data-pipeline/window-aggregate', Number.POSITIVE_INFINITY);
    const error = await run(cluster, new FakeHost()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect((error as Error).message).toMatch(/^step wait:services: timed out after 300 s waiting for Service\/window-aggregate -n big-data-pipeline Ready \(Service\/big-data-pipeline\/window-aggregate 0\/1 ready\)$/);
    expect(cluster.log.some((l) => l.startsWith('apply KafkaSource'))).toBe(false);
  });

  it('fails at once when a platform Job failed', async () => {
    const cluster = new FakeCluster();
    cluster.failedJobs.add('Job/big-data-pipeline/kafka-topics');
    await expect(run(cluster, new FakeHost())).rejects.toThrow(/step wait:platform: Job\/kafka-topics -n big-data-pipeline Complete failed: .*BackoffLimitExceeded/);
  });

  it('creates absent Secrets with random values and never overwrites an existing one', async () => {
    const cluster = new FakeCluster();
    cluster.secrets.set('big-data-pipeline/grafana-admin', { 'admin-user': 'me', 'admin-password': 'chosen-by-hand' });
    const report = await run(cluster, new FakeHost());
    expect(report.secrets).toEqual([
      { name: 'elasticsearch-superuser', outcome: 'created' },
      { name: 'elasticsearch-credentials', outcome: 'created' },
      { name: 'kibana-credentials', outcome: 'created' },
      { name: 'grafana-admin', outcome: 'kept' },
    ]);
    const es = cluster.secrets.get('big-data-pipeline/elasticsearch-credentials')!;
    const kibana = cluster.secrets.get('big-data-pipeline/kibana-credentials')!;
    const superuser = cluster.secrets.get('big-data-pipeline/elasticsearch-superuser')!;
    expect(es['username']).toBe('big-data-pipeline');
    expect(es['password']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(superuser['password']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(kibana['password']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(kibana['encryption-key']).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(new Set([es['password'], superuser['password'], kibana['password'], kibana['encryption-key']]).size).toBe(4);
    expect(cluster.secrets.get('big-data-pipeline/grafana-admin')).toEqual({ 'admin-user': 'me', 'admin-password': 'chosen-by-hand' });
  });

  it('is safe to run again: same objects, same Secrets', async () => {
    const cluster = new FakeCluster();
    await run(cluster, new FakeHost());
    const objects = structuredClone([...cluster.objects.entries()]);
    const secrets = structuredClone([...cluster.secrets.entries()]);
    const again = await run(cluster, new FakeHost());
    expect(again.steps).toBe(steps.length);
    expect(again.secrets.every((s) => s.outcome === 'kept')).toBe(true);
    expect([...cluster.objects.entries()]).toEqual(objects);
    expect([...cluster.secrets.entries()]).toEqual(secrets);
    // Each run installs the Kafka controller release with the flag enabled in it, and nothing else writes the flag.
    expect(cluster.log.filter((l) => l === 'install eventing-kafka-controller')).toHaveLength(2);
    expect(cluster.log.filter((l) => l.includes('config-kafka-features'))).toEqual([]);
  });

  it('keeps dev.local in registries-skipping-tag-resolving: adds it to a custom list, leaves the default alone', async () => {
    const custom = new FakeCluster();
    custom.configMaps.set('knative-serving/config-deployment', { 'registries-skipping-tag-resolving': 'registry.corp' });
    await run(custom, new FakeHost());
    expect(custom.configMaps.get('knative-serving/config-deployment')).toEqual({ 'registries-skipping-tag-resolving': 'registry.corp,dev.local' });

    const fresh = new FakeCluster();
    await run(fresh, new FakeHost());
    expect(fresh.configMaps.get('knative-serving/config-deployment')).toBeUndefined();
  });

  it('says clearly when neither docker nor podman can build, before touching the cluster', async () => {
    const cluster = new FakeCluster();
    await expect(run(cluster, new FakeHost(new Set(['kubectl', 'kind']), null))).rejects.toThrow(/step check:image-tool: no container engine/);
    expect(cluster.log).toEqual([]);
  });

  it('refuses to start without a kube context', async () => {
    const cluster = new FakeCluster(null);
    await expect(run(cluster, new FakeHost())).rejects.toThrow(/step check:context: no current kube context/);
    expect(cluster.log).toEqual([]);
  });

  it('pushes to REGISTRY with the container tool, and uses podman archives for kind', async () => {
    const pushHost = new FakeHost(new Set(['kubectl', 'docker']));
    await run(new FakeCluster('gke_p_z_c'), pushHost, plan(repoPlanOptions({ context: 'gke_p_z_c', registry: 'ghcr.io/acme' })));
    expect(pushHost.commands).toContain('docker tag dev.local/big-data-pipeline/index:0.1.0 ghcr.io/acme/big-data-pipeline/index:0.1.0');
    expect(pushHost.commands).toContain('docker push ghcr.io/acme/big-data-pipeline/index:0.1.0');

    const podman = new FakeHost(new Set(['kubectl', 'podman', 'kind']), 'podman');
    await run(new FakeCluster(), podman);
    expect(podman.commands).toContain(
      'podman build -f images/function.Dockerfile --build-arg FUNCTION=index -t dev.local/big-data-pipeline/index:0.1.0 --ignorefile images/function.Dockerfile.dockerignore .',
    );
    expect(podman.commands.some((c) => /^kind load image-archive \S+dev\.local_big-data-pipeline_index_0\.1\.0\.tar --name bdp$/.test(c))).toBe(true);
  });

  it('applies the platform objects it was given (and nothing of platform/ when there are none)', async () => {
    const cluster = new FakeCluster();
    await run(cluster, new FakeHost());
    for (const o of fakePlatform.filter((x) => x.kind !== 'Namespace')) expect(cluster.objects.has(key(refOf(o)))).toBe(true);
  });
});
