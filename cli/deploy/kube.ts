/**
 * The real Cluster: the Kubernetes API through @kubernetes/client-node (server-side apply,
 * reads, conditions, Secrets), and kubectl where it is the better tool: applying a remote
 * release manifest (many kinds, CRDs and the Deployments that serve them in one file,
 * client-side apply as the Knative docs install them, --server-side for KEDA) and
 * `kubectl kustomize`. Both talk to the same kubeconfig and context, which can be any:
 * the user's, a kind cluster, or a bare kube-apiserver in an envtest.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { K8sObject } from '../manifests.ts';
import { FIELD_MANAGER } from './plan.ts';
import { type Access, type Cluster, ClusterError, type ClusterInfo, type ObjectRef, type WaitFor, type WaitStatus, describeRef } from './steps.ts';

export interface KubeOptions {
  /** A kubeconfig file; else $KUBECONFIG, else ~/.kube/config, else in-cluster. */
  kubeconfig?: string;
  /** A context of it; else its current context. */
  context?: string;
  kubectl?: string;
}

/**
 * The kubeconfig, read without contacting anything. Undefined (with the reason) when there
 * is none: client-node's own loadFromDefault would then quietly fall back to
 * http://localhost:8080, which is never what a deploy means.
 */
export function loadKubeConfig(options: KubeOptions = {}): { kc: k8s.KubeConfig } | { kc: undefined; why: string } {
  const kc = new k8s.KubeConfig();
  const env = process.env['KUBECONFIG'];
  const files = kubeconfigFiles(options);
  const present = files.filter((f) => existsSync(f));
  try {
    if (present.length > 0) {
      kc.loadFromFile(present[0]!);
      for (const more of present.slice(1)) {
        const other = new k8s.KubeConfig();
        other.loadFromFile(more);
        kc.mergeConfig(other, true);
      }
    } else if (!options.kubeconfig && !env && process.env['KUBERNETES_SERVICE_HOST']) {
      kc.loadFromCluster();
    } else {
      return { kc: undefined, why: `no kubeconfig (${files.join(', ')} ${files.length > 1 ? 'do' : 'does'} not exist)` };
    }
  } catch (error) {
    return { kc: undefined, why: `cannot read the kubeconfig: ${(error as Error).message}` };
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) return { kc: undefined, why: `the kubeconfig has no context "${options.context}"` };
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentContext()) return { kc: undefined, why: 'the kubeconfig has no current context' };
  return { kc };
}

/** The kubeconfig files kubectl would read: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. */
function kubeconfigFiles(options: KubeOptions): string[] {
  const env = process.env['KUBECONFIG'];
  return options.kubeconfig ? [options.kubeconfig] : env ? env.split(delimiter).filter(Boolean) : [join(homedir(), '.kube', 'config')];
}

const MINIKUBE_PROVIDER = 'minikube.sigs.k8s.io';

/**
 * Whether minikube wrote this context: minikube names the context after its profile
 * (`minikube -p dev` → context `dev`) and marks it with a `context_info` extension whose
 * provider is minikube.sigs.k8s.io. client-node drops extensions, so the files are read here.
 */
export function isMinikubeContext(context: string, options: KubeOptions = {}): boolean {
  for (const file of kubeconfigFiles(options).filter((f) => existsSync(f))) {
    let config: { contexts?: { name?: unknown; context?: { extensions?: { extension?: { provider?: unknown } }[] } }[] } | null;
    try {
      config = parseYaml(readFileSync(file, 'utf8')) as typeof config;
    } catch {
      continue;
    }
    const entry = config?.contexts?.find((c) => c?.name === context);
    if (entry) return (entry.context?.extensions ?? []).some((e) => e?.extension?.provider === MINIKUBE_PROVIDER);
  }
  return false;
}

/** The current context's name, or undefined; reads the kubeconfig only. */
export function currentContext(options: KubeOptions = {}): string | undefined {
  const loaded = loadKubeConfig(options);
  return loaded.kc?.getCurrentContext();
}

// ---------------------------------------------------------------------------------------
// Errors: which ones pass by themselves

const TRANSIENT =
  /failed calling webhook|connection refused|no endpoints available|i\/o timeout|TLS handshake timeout|the server is currently unable|context deadline exceeded|Internal error occurred|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|fetch failed|no matches for kind|ensure CRDs are installed first|Unrecognized API version and kind|Failed to fetch resource metadata|the object has been modified|is being deleted|unexpected EOF/i;

function apiMessage(error: k8s.ApiException<unknown>): string {
  let body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // a plain-text body
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : typeof body === 'string' && body ? body : error.message.split('\n')[0]!;
}

export function toClusterError(what: string, error: unknown): ClusterError {
  if (error instanceof ClusterError) return error;
  if (error instanceof k8s.ApiException) {
    // Discovery of a group not served yet (its CRD is being installed) comes back as a 404 whose
    // body is a bare "404 page not found"; client-node says so in the error's message.
    const discovery = /Failed to fetch resource metadata/.test(error.message);
    const message = discovery ? `${error.message.split('\n')[0]!.replace(/: HTTP-Code: \d+$/, '')}: not served (yet)` : apiMessage(error);
    const retryable = discovery || error.code >= 500 || error.code === 429 || (error.code === 409 && /being deleted|modified/.test(message)) || TRANSIENT.test(message);
    return new ClusterError(`${what}: ${message} (HTTP ${error.code})`, retryable);
  }
  const message = error instanceof Error ? `${error.message}${(error as NodeJS.ErrnoException).code ? ` (${(error as NodeJS.ErrnoException).code})` : ''}` : String(error);
  return new ClusterError(`${what}: ${message}`, TRANSIENT.test(message));
}

function isNotFound(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404 && !/resource metadata/.test(error.message);
}

function isUnknownKind(error: unknown): boolean {
  return error instanceof Error && /Unrecognized API version and kind|Failed to fetch resource metadata/.test(error.message);
}

// ---------------------------------------------------------------------------------------
// Readiness of the kinds the deploy waits for

type Condition = { type?: string; status?: string; reason?: string; message?: string };
type Live = K8sObject & { status?: Record<string, unknown>; spec?: Record<string, unknown> };

function conditions(object: Live): Condition[] {
  const list = object.status?.['conditions'];
  return Array.isArray(list) ? (list as Condition[]) : [];
}

function conditionIs(object: Live, type: string): Condition | undefined {
  return conditions(object).find((c) => c.type === type);
}

function generationSeen(object: Live): boolean {
  const generation = object.metadata['generation'];
  const observed = object.status?.['observedGeneration'];
  return typeof generation !== 'number' || typeof observed !== 'number' || observed >= generation;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' ? value : fallback;
}

export function deploymentStatus(d: Live): WaitStatus {
  const want = num(d.spec?.['replicas'], 1);
  const updated = num(d.status?.['updatedReplicas']);
  const available = num(d.status?.['availableReplicas']);
  const condition = conditionIs(d, 'Available');
  const done = generationSeen(d) && condition?.status === 'True' && updated >= want && available >= want;
  return { done, detail: `${d.metadata.name} ${available}/${want} available${condition?.status === 'True' || !condition?.message ? '' : `: ${condition.message}`}` };
}

export function statefulSetStatus(s: Live): WaitStatus {
  const want = num(s.spec?.['replicas'], 1);
  const ready = num(s.status?.['readyReplicas']);
  const updated = num(s.status?.['updatedReplicas'], want);
  const done = generationSeen(s) && ready >= want && updated >= want;
  return { done, detail: `${s.metadata.name} ${ready}/${want} ready` };
}

export function jobStatus(j: Live): WaitStatus {
  const failed = conditionIs(j, 'Failed');
  if (failed?.status === 'True') return { done: false, failed: true, detail: `${j.metadata.name}: ${failed.reason ?? 'Failed'} ${failed.message ?? ''}`.trim() };
  const complete = conditionIs(j, 'Complete')?.status === 'True';
  return { done: complete, detail: `${j.metadata.name} ${complete ? 'complete' : `running (${num(j.status?.['active'])} active, ${num(j.status?.['failed'])} failed pods)`}` };
}

/** Knative-style Ready (ksvc, sources, sinks): the current generation seen and Ready=True. */
export function conditionStatus(o: Live, type: string): WaitStatus {
  const c = conditionIs(o, type);
  const done = generationSeen(o) && c?.status === 'True';
  return { done, detail: `${o.kind}/${o.metadata.name} ${type}=${c?.status ?? 'Unknown'}${c && c.status !== 'True' && (c.reason || c.message) ? ` ${c.reason ?? ''}: ${c.message ?? ''}` : ''}` };
}

function statusOf(o: Live, condition: string): WaitStatus {
  if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment') return deploymentStatus(o);
  if (o.apiVersion === 'apps/v1' && o.kind === 'StatefulSet') return statefulSetStatus(o);
  if (o.apiVersion === 'batch/v1' && o.kind === 'Job') return jobStatus(o);
  return conditionStatus(o, condition);
}

/** kubectl -o json of several objects: a List, one object, or objects one after another. */
export function parseJsonObjects(text: string): Live[] {
  const out: Live[] = [];
  const push = (value: unknown) => {
    const v = value as { kind?: string; items?: unknown[] };
    if (v?.kind === 'List' && Array.isArray(v.items)) v.items.forEach(push);
    else if (v && typeof v === 'object') out.push(v as Live);
  };
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) {
      push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------

export class KubeCluster implements Cluster {
  readonly #kc: k8s.KubeConfig | undefined;
  readonly #why: string | undefined;
  readonly #kubectl: string;
  readonly #kubectlArgs: string[];
  #objects?: k8s.KubernetesObjectApi;
  readonly #options: KubeOptions;

  constructor(options: KubeOptions = {}) {
    this.#options = options;
    const loaded = loadKubeConfig(options);
    this.#kc = loaded.kc;
    this.#why = loaded.kc ? undefined : loaded.why;
    this.#kubectl = options.kubectl ?? process.env['KUBECTL'] ?? 'kubectl';
    const context = loaded.kc?.getCurrentContext();
    this.#kubectlArgs = [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), ...(context ? ['--context', context] : [])];
  }

  /** The arguments that point kubectl at the same cluster (for port-forward, logs, get). */
  get kubectlArgs(): string[] {
    return [...this.#kubectlArgs];
  }

  get kubeConfig(): k8s.KubeConfig {
    if (!this.#kc) throw new ClusterError(this.#why ?? 'no kubeconfig', false);
    return this.#kc;
  }

  get #api(): k8s.KubernetesObjectApi {
    this.#objects ??= k8s.KubernetesObjectApi.makeApiClient(this.kubeConfig);
    return this.#objects;
  }

  contextName(): string | undefined {
    return this.#kc?.getCurrentContext();
  }

  isMinikube(): boolean {
    const context = this.contextName();
    return context !== undefined && isMinikubeContext(context, this.#options);
  }

  async info(): Promise<ClusterInfo> {
    const kc = this.kubeConfig;
    try {
      const version = await kc.makeApiClient(k8s.VersionApi).getCode();
      return { context: kc.getCurrentContext(), server: kc.getCurrentCluster()?.server ?? '?', version: version.gitVersion, minor: Number.parseInt(version.minor, 10) };
    } catch (error) {
      throw toClusterError(kc.getCurrentCluster()?.server ?? 'the API server', error);
    }
  }

  async apply(objects: K8sObject[], options: { force: boolean }): Promise<void> {
    for (const object of objects) {
      const body = structuredClone(object) as k8s.KubernetesObject;
      try {
        await this.#api.patch(body, undefined, undefined, FIELD_MANAGER, options.force, k8s.PatchStrategy.ServerSideApply);
      } catch (error) {
        // A Job's pod template is immutable: a changed Job is replaced (a finished Job has nothing left to do).
        if (object.kind === 'Job' && error instanceof k8s.ApiException && error.code === 422 && /immutable/.test(apiMessage(error))) {
          await this.delete({ apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) });
          throw new ClusterError(`Job/${object.metadata.name} changed: the old one is being replaced`, true);
        }
        throw toClusterError(`${object.kind}/${object.metadata.name}`, error);
      }
    }
  }

  #run(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.#kubectl, [...this.#kubectlArgs, ...args], { maxBuffer: 512 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const text = (stderr || error.message).trim();
        reject(new ClusterError(`${this.#kubectl} ${args.join(' ')}: ${text.split('\n').slice(-6).join('\n')}`, TRANSIENT.test(text)));
      });
      child.stdin?.end(input ?? '');
    });
  }

  async applyObjects(objects: K8sObject[], options: { serverSide: boolean }): Promise<ObjectRef[]> {
    const args = ['apply', '-f', '-', '-o', 'json'];
    if (options.serverSide) args.push('--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts');
    const { stdout } = await this.#run(args, objects.map((o) => JSON.stringify(o)).join('\n'));
    return parseJsonObjects(stdout).map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.metadata.name,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    }));
  }

  async deleteUrl(url: string): Promise<void> {
    await this.#run(['delete', '-f', url, '--ignore-not-found', '--wait=false']);
  }

  async #read(ref: ObjectRef): Promise<Live | undefined> {
    try {
      return (await this.#api.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } })) as unknown as Live;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toClusterError(describeRef(ref), error);
    }
  }

  async check(wait: WaitFor, applied: ReadonlyMap<string, ObjectRef[]>): Promise<WaitStatus> {
    switch (wait.type) {
      case 'condition':
      case 'statefulset-ready': {
        const live = await this.#read(wait.ref);
        if (!live) return { done: false, detail: `${describeRef(wait.ref)} not created yet` };
        return statusOf(live, wait.type === 'condition' ? wait.condition : 'Ready');
      }
      case 'gone': {
        const live = await this.#read(wait.ref).catch((error: unknown) => {
          // Its kind is gone with its CRD: so is the object.
          if (error instanceof ClusterError && /Unrecognized API version and kind/.test(error.message)) return undefined;
          throw error;
        });
        if (!live) return { done: true, detail: 'deleted' };
        const finalizers = (live.metadata['finalizers'] as string[] | undefined) ?? [];
        return { done: false, detail: `still there${finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''}` };
      }
      case 'release-ready': {
        const refs = applied.get(wait.release) ?? [];
        const statuses: WaitStatus[] = [];
        for (const ref of refs.filter((r) => r.kind === 'CustomResourceDefinition')) {
          const crd = await this.#read(ref);
          statuses.push(crd ? conditionStatus(crd, 'Established') : { done: false, detail: `${ref.name} not created yet` });
        }
        let deployments = refs.filter((r) => r.apiVersion === 'apps/v1' && r.kind === 'Deployment');
        if (deployments.length === 0 && wait.namespace) {
          try {
            const list = await this.#api.list('apps/v1', 'Deployment', wait.namespace);
            deployments = list.items.map((d) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata!.name!, namespace: wait.namespace! }));
          } catch (error) {
            throw toClusterError(`Deployments in ${wait.namespace}`, error);
          }
          if (deployments.length === 0) return { done: false, detail: `no Deployments in ${wait.namespace} yet` };
        }
        for (const ref of deployments) {
          const d = await this.#read(ref);
          statuses.push(d ? deploymentStatus(d) : { done: false, detail: `${ref.name} not created yet` });
        }
        const pending = statuses.filter((s) => !s.done);
        return { done: pending.length === 0, detail: pending.length ? pending.map((s) => s.detail).join(', ') : `${statuses.length} ready` };
      }
    }
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const cm = await this.kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name, namespace });
      return cm.data ?? {};
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toClusterError(`ConfigMap ${namespace}/${name}`, error);
    }
  }

  async getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name, namespace });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toClusterError(`Secret ${namespace}/${name}`, error);
    }
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'exists'> {
    try {
      await this.kubeConfig.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
        namespace,
        body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels }, stringData: data },
        fieldManager: FIELD_MANAGER,
      });
      return 'created';
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 409) return 'exists';
      throw toClusterError(`Secret ${namespace}/${name}`, error);
    }
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.#api.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } }, undefined, undefined, undefined, undefined, 'Background');
    } catch (error) {
      // Already gone, or its kind no longer exists (its CRD was uninstalled): nothing to delete.
      if (isNotFound(error) || isUnknownKind(error)) return;
      throw toClusterError(`delete ${describeRef(ref)}`, error);
    }
  }

  async access(namespace: string): Promise<Access> {
    const access: Access = { services: [] };
    try {
      const ksvcs = await this.#api.list<Live>('serving.knative.dev/v1', 'Service', namespace);
      access.services = ksvcs.items.map((k) => ({
        name: k.metadata.name,
        ...(typeof k.status?.['url'] === 'string' ? { url: k.status['url'] } : {}),
        ready: conditionIs(k, 'Ready')?.status === 'True',
      }));
      const core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
      const kourier = await core.readNamespacedService({ name: 'kourier', namespace: 'kourier-system' });
      const http = kourier.spec?.ports?.find((p) => p.port === 80) ?? kourier.spec?.ports?.[0];
      const lb = kourier.status?.loadBalancer?.ingress?.[0];
      const nodes = await core.listNode();
      const addresses = nodes.items[0]?.status?.addresses ?? [];
      const address = addresses.find((a) => a.type === 'ExternalIP') ?? addresses.find((a) => a.type === 'InternalIP');
      access.kourier = {
        ...(http?.nodePort ? { nodePort: http.nodePort } : {}),
        ...(address ? { nodeAddress: address.address } : {}),
        ...(lb ? { loadBalancer: lb.ip ?? lb.hostname ?? '' } : {}),
      };
    } catch {
      // The summary prints what it has; the port-forward line always works.
    }
    return access;
  }
}
