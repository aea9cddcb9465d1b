/**
 * The vocabulary of `make deploy` / `make undeploy`: a plan is a list of Steps (pure data,
 * printable with DRY_RUN=1), and the executor carries them out against a `Cluster` (the
 * Kubernetes API) and a `Host` (local tools: kubectl, docker/podman, kind, minikube).
 * Both are interfaces so the control flow can be tested against fakes and the real
 * implementation can be pointed at any kubeconfig (a kind cluster, a bare kube-apiserver).
 */
import type { K8sObject } from '../manifests/index.ts';
import type { ReleasePatch } from '../manifests/releases.ts';
import type { CertificateRequest } from './certificates.ts';

/** The field manager of every server-side apply the deploy makes. */
export const FIELD_MANAGER = 'big-data-pipeline';

export type StepKind = 'check' | 'install' | 'configure' | 'apply' | 'wait' | 'build' | 'ship' | 'secret' | 'print' | 'delete';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(object: K8sObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace !== undefined) ref.namespace = object.metadata.namespace;
  return ref;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}${ref.namespace ? ` -n ${ref.namespace}` : ''}`;
}

/** What a wait step waits for; the Cluster answers one poll of it at a time. */
export type WaitFor =
  /** The objects a release install created: its CRDs Established, its Deployments Available
   * (all Deployments of `namespace` when the install reported none). */
  | { type: 'release-ready'; release: string; namespace?: string }
  /** status.conditions[type=condition] is True (Knative Ready, Deployment Available, Job Complete). */
  | { type: 'condition'; ref: ObjectRef; condition: string }
  /** readyReplicas == replicas, at the current revision. */
  | { type: 'statefulset-ready'; ref: ObjectRef }
  /** The object no longer exists (finalizers done). */
  | { type: 'gone'; ref: ObjectRef };

export function describeWait(wait: WaitFor): string {
  switch (wait.type) {
    case 'release-ready':
      return `${wait.release}: its CRDs Established, its Deployments Available${wait.namespace ? ` (else all in ${wait.namespace})` : ''}`;
    case 'condition':
      return `${describeRef(wait.ref)} ${wait.condition}`;
    case 'statefulset-ready':
      return `${describeRef(wait.ref)} ready`;
    case 'gone':
      return `${describeRef(wait.ref)} deleted`;
  }
}

/** One poll: done, not yet (with why), or failed for good (a Job that failed). */
export interface WaitStatus {
  done: boolean;
  failed?: boolean;
  detail: string;
}

/**
 * A fixed value (a user name), that many random alphanumeric characters, or PEM: the
 * Secret's own certificate or its key, or the certificate of the CA that issued it.
 */
export type SecretValue = { value: string } | { random: number } | { pem: 'certificate' | 'key' | 'ca' };

export type ShipVia =
  | { type: 'kind'; cluster: string }
  | { type: 'minikube'; profile: string }
  | { type: 'push'; target: string }
  /** Only in a plan made without a kube context (DRY_RUN on a machine without one). */
  | { type: 'from-context' };

export type Action =
  | { type: 'check-kubectl' }
  | { type: 'check-context' }
  | { type: 'check-cluster'; minMinor: number }
  | { type: 'check-image-tool' }
  | { type: 'check-tool'; tool: string; why: string }
  | { type: 'check-files'; paths: string[]; hint: string }
  | { type: 'fail'; message: string }
  /** Fetches a release manifest, applies the patches to its objects, applies the result. */
  | { type: 'apply-release'; release: string; url: string; serverSide: boolean; patches: ReleasePatch[] }
  /** Server-side apply with the deploy's field manager; `force` takes over fields another manager owns. */
  | { type: 'apply'; objects: K8sObject[]; force: boolean }
  /** A comma-separated list in a ConfigMap key contains every entry (the key's default when absent). */
  | { type: 'ensure-list'; namespace: string; configMap: string; key: string; whenAbsent: string; entries: string[] }
  | { type: 'wait'; waits: WaitFor[]; timeoutMs: number }
  | { type: 'build-image'; fn: string; image: string; dockerfile: string; ignoreFile: string; context: string }
  | { type: 'ship-image'; image: string; via: ShipVia }
  /** Created with these keys when absent; an existing Secret is never changed. `certificate`:
   * the one its `pem` values hold, signed by the CA in Secret `issuer` (self-signed without one). */
  | { type: 'secret'; namespace: string; name: string; data: Record<string, SecretValue>; labels: Record<string, string>; issuer?: string; certificate?: CertificateRequest }
  | { type: 'summary'; namespace: string; services: { name: string; visibility: 'public' | 'cluster-local'; container: string }[]; secrets: { name: string; keys: string[] }[]; consoles: { name: string; service: string; port: number }[] }
  | { type: 'message'; text: string }
  | { type: 'delete'; refs: ObjectRef[] }
  | { type: 'delete-url'; url: string };

export interface Step {
  id: string;
  kind: StepKind;
  description: string;
  action: Action;
}

/** The plan as DRY_RUN=1 prints it: one numbered line a step, with the text of a message or a certain failure under it. */
export function formatPlan(steps: Step[]): string {
  const width = String(steps.length).length;
  return steps
    .map((s, i) => {
      const head = `${String(i + 1).padStart(width)}. ${s.kind.padEnd(9)} ${s.id.padEnd(34)} ${s.description}`;
      if (s.action.type === 'message') return `${head}\n${' '.repeat(width + 2)}${s.action.text}`;
      if (s.action.type === 'fail') return `${head}\n${' '.repeat(width + 2)}will stop here: ${s.action.message}`;
      return head;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// The two seams

/** An error from the cluster; `retryable` when trying again later may succeed (a webhook
 * not serving yet, a CRD not registered yet, the API server briefly away). */
export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface ClusterInfo {
  context: string;
  server: string;
  version: string;
  minor: number;
}

export interface Cluster {
  /** The current context's name (no API call): kind-*, minikube, or anything else. */
  contextName(): string | undefined;
  /** Whether minikube wrote the current context (any profile); absent means no. */
  isMinikube?(): boolean;
  /** Reaches the API server and reads its version. */
  info(): Promise<ClusterInfo>;
  /** Server-side apply with the field manager `big-data-pipeline`. */
  apply(objects: K8sObject[], options: { force: boolean }): Promise<void>;
  /** Applies a release's objects (kubectl apply, client-side unless serverSide); returns what it created or updated. */
  applyObjects(objects: K8sObject[], options: { serverSide: boolean }): Promise<ObjectRef[]>;
  /** One poll of a condition; `applied` holds what each release install reported. */
  check(wait: WaitFor, applied: ReadonlyMap<string, ObjectRef[]>): Promise<WaitStatus>;
  getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The Secret's keys (values decoded), or undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** 'exists' when someone created it in the meantime: never overwritten. */
  createSecret(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'exists'>;
  /** Deletes; a missing object is fine. */
  delete(ref: ObjectRef): Promise<void>;
  deleteUrl(url: string): Promise<void>;
  /** What the summary prints: the ksvc URLs and how to reach Kourier. */
  access(namespace: string): Promise<Access>;
}

export interface Access {
  services: { name: string; url?: string; ready: boolean }[];
  /** Kourier's public gateway: NodePort of port 80 and a node address, when it has them. */
  kourier?: { nodePort?: number; nodeAddress?: string; loadBalancer?: string };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Host {
  /** Whether a command is on PATH. */
  has(command: string): Promise<boolean>;
  exists(path: string): boolean;
  run(command: string, args: string[], options?: { env?: Record<string, string> }): Promise<RunResult>;
  /** The body of a URL (a release manifest); rejects on a non-2xx answer. */
  fetchText(url: string): Promise<string>;
  /** docker or podman with a reachable engine, or why neither can build. */
  containerTool(): Promise<{ tool: 'docker' | 'podman' } | { tool: undefined; why: string }>;
  log(line: string): void;
}
