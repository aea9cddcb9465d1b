/**
 * The real Cluster: the Kubernetes API through @kubernetes/client-node (server-side apply,
 * reads, conditions, Secrets), and kubectl where it is the better tool: applying a remote
 * release manifest (many kinds, CRDs and the Deployments that serve them in one file,
 * client-side apply as the Knative docs install them, --server-side for KEDA) and
 * `kubectl kustomize`. Both talk to the same kubeconfig and context, which can be any:
 * the user's, a kind cluster, or a bare kube-apiserver in an envtest.
 */
import { execFile } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import type { K8sObject } from '../manifests/index.ts';
import { TRANSIENT, apiMessage, isNotFound, isUnknownKind, toClusterError } from './kube-errors.ts';
import { type KubeOptions, isMinikubeContext, loadKubeConfig } from './kubeconfig.ts';
import { type Live, conditionIs, conditionStatus, deploymentStatus, statusOf } from './readiness.ts';
import { type Access, type Cluster, ClusterError, type ClusterInfo, FIELD_MANAGER, type ObjectRef, type WaitFor, type WaitStatus, describeRef } from './steps.ts';

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
    this.#kubectl = options.kubectl ?? 'kubectl';
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
