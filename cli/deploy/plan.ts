/**
 * `make deploy` and `make undeploy` as pure plans: the rendered manifests and a few facts
 * (package version, kube context, REGISTRY) in, an ordered list of Steps out. No I/O here,
 * so the order the design depends on is visible in a DRY_RUN and checked by tests:
 *
 * - releases (keda/releases.yaml) in file order, each waited for: CRDs before anything
 *   that uses them; each applied with its patches already in the YAML (the KEDA
 *   integration enabled, the dispatcher settings), so no apply ever writes the shipped
 *   values — every KafkaSource is created, and stays, autoscaled;
 * - Secrets before platform/ (its pods read them), platform/ ready before any function;
 * - images built and shipped before anything runs them: platform/'s own (the web dashboard)
 *   and the functions', so before platform/ (a build problem also shows before the long waits);
 * - Services Ready before KafkaSources (a source's sink must resolve), KafkaSources Ready
 *   before PingSources: `initialOffset: latest` commits the end offsets when the source
 *   becomes ready, so the first tick's events are not skipped.
 */
import type { K8sObject } from '../manifests.ts';
import type { Release, ReleasePatch } from '../releases.ts';
import { objectId } from '../manifests.ts';
import { type Action, type ObjectRef, type ShipVia, type Step, type StepKind, type WaitFor, describeWait, refOf } from './steps.ts';

export const FIELD_MANAGER = 'big-data-pipeline';
export const DOCKERFILE = 'images/function.Dockerfile';
export const DOCKER_IGNORE = 'images/function.Dockerfile.dockerignore';
/** Knative keeps these image references as they are (no registry lookup for a digest). */
export const LOCAL_REGISTRY = 'dev.local';
/** Knative Serving's built-in value of registries-skipping-tag-resolving. */
export const SKIP_TAG_RESOLVING_DEFAULT = 'kind.local,ko.local,dev.local';
/** Knative 1.23 is built against Kubernetes 1.34 (its minimum, by the 1.21→1.33, 1.22→1.34 pattern). */
export const MIN_KUBERNETES_MINOR = 34;

export class PlanError extends Error {
  override name = 'PlanError';
}

export interface Timeouts {
  releaseMs: number;
  platformMs: number;
  servicesMs: number;
  sourcesMs: number;
  deleteMs: number;
}

export const defaultTimeouts: Timeouts = {
  releaseMs: 5 * 60_000,
  platformMs: 15 * 60_000,
  servicesMs: 5 * 60_000,
  sourcesMs: 3 * 60_000,
  deleteMs: 5 * 60_000,
};

export interface PlatformInput {
  /** The kustomization applied: platform/ or an overlay. */
  dir: string;
  /** Its rendered objects; absent when it could not be rendered (then `problem` says why). */
  objects?: K8sObject[];
  problem?: string;
}

export interface PlanOptions {
  /** package.json version: the image tag, which the manifests must use. */
  version: string;
  releases: Release[];
  /** knative/ rendered. */
  knativeObjects: K8sObject[];
  platform: PlatformInput;
  /** The current kube context, when known (not known in a DRY_RUN without a kubeconfig). */
  context?: string;
  /** The context was written by minikube: a profile of any name (`minikube -p <profile>` names the context after it). */
  minikube?: boolean;
  /** REGISTRY: push there instead of loading into kind/minikube. */
  registry?: string;
  /** Add the registry to registries-skipping-tag-resolving (a registry the Knative controller cannot reach). */
  registrySkipsTagResolving?: boolean;
  /** Take over fields another field manager owns on our own objects (a `kubectl edit`). */
  force?: boolean;
  /** docker or podman, for display. */
  containerTool?: string;
  /** Project images with a Dockerfile of their own (images/<name>.Dockerfile); the others are
   * bundles built by images/function.Dockerfile from dist/<name>/index.mjs. */
  dockerfiles?: Record<string, string>;
  timeouts?: Partial<Timeouts>;
}

// ---------------------------------------------------------------------------------------
// What the deploy generates

/**
 * The Secrets platform/ and knative/ read, generated once with random values (the table in
 * platform/README.md). plan() checks that every Secret key the manifests reference is here.
 */
export function generatedSecrets(namespace: string): Extract<Action, { type: 'secret' }>[] {
  const secret = (name: string, component: string, data: Extract<Action, { type: 'secret' }>['data']) => ({
    type: 'secret' as const,
    namespace,
    name,
    data,
    labels: {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/component': component,
      'app.kubernetes.io/part-of': 'big-data-pipeline',
      'app.kubernetes.io/managed-by': 'big-data-pipeline-deploy',
    },
  });
  return [
    // The bootstrap password of the built-in superuser `elastic`; only the setup Jobs use it.
    secret('elasticsearch-superuser', 'elasticsearch', { password: { random: 32 } }),
    // The pipeline's own user, which the elasticsearch-setup Job creates with a role limited to its indices.
    secret('elasticsearch-credentials', 'elasticsearch', { username: { value: 'big-data-pipeline' }, password: { random: 32 } }),
    // kibana_system's password (set by the setup Job); encryption-key ≥ 32 characters for saved objects.
    secret('kibana-credentials', 'kibana', { password: { random: 32 }, 'encryption-key': { random: 48 } }),
    secret('grafana-admin', 'grafana', { 'admin-user': { value: 'admin' }, 'admin-password': { random: 32 } }),
  ];
}

/** Every Secret key the objects' pods read (secretKeyRef, envFrom secretRef, secret volumes), optional ones left out. */
export function referencedSecrets(objects: K8sObject[]): { secret: string; key?: string; by: string }[] {
  const found: { secret: string; key?: string; by: string }[] = [];
  const walk = (value: unknown, by: string): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(v, by));
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const [field, child] of Object.entries(record)) {
      const ref = child as { name?: unknown; key?: unknown; secretName?: unknown; optional?: unknown } | null;
      if (ref && typeof ref === 'object' && ref.optional !== true) {
        if (field === 'secretKeyRef' && typeof ref.name === 'string') found.push({ secret: ref.name, ...(typeof ref.key === 'string' ? { key: ref.key } : {}), by });
        else if (field === 'secretRef' && typeof ref.name === 'string') found.push({ secret: ref.name, by });
        else if (field === 'secret' && typeof ref.secretName === 'string') found.push({ secret: ref.secretName, by });
      }
      walk(child, by);
    }
  };
  for (const o of objects) walk(o['spec'], objectId(o));
  return found;
}

export function localImage(fn: string, version: string): string {
  return `${LOCAL_REGISTRY}/big-data-pipeline/${fn}:${version}`;
}

export function registryImage(registry: string, fn: string, version: string): string {
  return `${registry.replace(/\/+$/, '')}/big-data-pipeline/${fn}:${version}`;
}

function describePatch(patch: ReleasePatch): string {
  const values = { ...patch.data, ...Object.assign({}, ...Object.values(patch.properties ?? {})), ...patch.env } as Record<string, string>;
  const settings = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (patch.resources) settings.push(`resources ${JSON.stringify(patch.resources)}`);
  return `${patch.kind}/${patch.name} ${settings.join(', ')}`;
}

/** How images reach the cluster: REGISTRY wins; else kind-<cluster> → kind, a minikube context (named after its profile) → minikube. */
export function shipVia(context: string | undefined, registry: string | undefined, minikube = false): ShipVia | { type: 'none'; why: string } {
  if (registry) return { type: 'push', target: registry };
  if (context === undefined) return { type: 'from-context' };
  if (context.startsWith('kind-')) return { type: 'kind', cluster: context.slice('kind-'.length) };
  if (minikube || context === 'minikube') return { type: 'minikube', profile: context };
  return {
    type: 'none',
    why: `context "${context}" is neither kind-* nor a minikube profile, so the images cannot be loaded into the nodes: set REGISTRY=<registry the cluster pulls from> (e.g. make deploy REGISTRY=ghcr.io/you)`,
  };
}

// ---------------------------------------------------------------------------------------
// Object groups

const isKind = (apiVersion: string, kind: string) => (o: K8sObject) => o.apiVersion === apiVersion && o.kind === kind;
const isNamespace = isKind('v1', 'Namespace');
const isKsvc = isKind('serving.knative.dev/v1', 'Service');
const isKafkaSink = isKind('eventing.knative.dev/v1alpha1', 'KafkaSink');
const isKafkaSource = (o: K8sObject) => o.apiVersion.startsWith('sources.knative.dev/') && o.kind === 'KafkaSource';
const isPingSource = (o: K8sObject) => o.apiVersion.startsWith('sources.knative.dev/') && o.kind === 'PingSource';

function ready(objects: K8sObject[]): WaitFor[] {
  return objects.map((o) => ({ type: 'condition', ref: refOf(o), condition: 'Ready' }));
}

function names(objects: K8sObject[]): string {
  return objects.map((o) => o.metadata.name).join(', ');
}

function userContainer(ksvc: K8sObject): { name: string; image: string } | undefined {
  const spec = (ksvc['spec'] as { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined)?.template?.spec;
  const container = spec?.containers?.[0];
  if (!container?.image) return undefined;
  // Knative names an unnamed container user-container.
  return { name: container.name ?? 'user-container', image: container.image };
}

const PROJECT_IMAGE = /^dev\.local\/big-data-pipeline\/([a-z0-9-]+):(.+)$/;

function imagesIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => imagesIn(v, found));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'image' && typeof v === 'string') found.push(v);
      else imagesIn(v, found);
    }
  }
  return found;
}

/** The project's own images (dev.local/big-data-pipeline/<name>:<tag>) the objects run. */
export function projectImages(objects: K8sObject[]): { name: string; tag: string; image: string; by: string }[] {
  return objects.flatMap((o) =>
    imagesIn(o['spec']).flatMap((image) => {
      const match = PROJECT_IMAGE.exec(image);
      return match ? [{ name: match[1]!, tag: match[2]!, image, by: objectId(o) }] : [];
    }),
  );
}

/** The objects with every project image pointed at the registry (copies; the input stays as rendered). */
function withRegistry(objects: K8sObject[], registry: string): K8sObject[] {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const match = k === 'image' && typeof v === 'string' ? PROJECT_IMAGE.exec(v) : null;
        return [k, match ? registryImage(registry, match[1]!, match[2]!) : rewrite(v)];
      }),
    );
  };
  return objects.map((o) => rewrite(o) as K8sObject);
}

/** The workloads platform/ must have ready before any function starts. */
export function platformWaits(objects: K8sObject[]): WaitFor[] {
  const waits: WaitFor[] = [];
  for (const o of objects) {
    if (o.apiVersion === 'apps/v1' && o.kind === 'StatefulSet') waits.push({ type: 'statefulset-ready', ref: refOf(o) });
    else if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment') waits.push({ type: 'condition', ref: refOf(o), condition: 'Available' });
    else if (o.apiVersion === 'batch/v1' && o.kind === 'Job') waits.push({ type: 'condition', ref: refOf(o), condition: 'Complete' });
  }
  return waits;
}

/** Consoles for port-forward and the summary: platform Services with these names. */
export function consolesOf(objects: K8sObject[]): { name: string; service: string; port: number }[] {
  const wanted = ['kibana', 'grafana', 'prometheus', 'dashboard'];
  const consoles: { name: string; service: string; port: number }[] = [];
  for (const name of wanted) {
    const service = objects.find((o) => o.apiVersion === 'v1' && o.kind === 'Service' && (o.metadata.name === name || o.metadata.labels?.['app.kubernetes.io/name'] === name));
    const port = (service?.['spec'] as { ports?: { port?: number }[] } | undefined)?.ports?.[0]?.port;
    if (service && typeof port === 'number') consoles.push({ name, service: service.metadata.name, port });
  }
  return consoles;
}

// ---------------------------------------------------------------------------------------
// The deploy plan

export function plan(options: PlanOptions): Step[] {
  const t = { ...defaultTimeouts, ...options.timeouts };
  const force = options.force ?? false;
  const steps: Step[] = [];
  const add = (id: string, kind: StepKind, description: string, action: Action) => {
    if (steps.some((s) => s.id === id)) throw new PlanError(`duplicate step id ${id}`);
    steps.push({ id, kind, description, action });
  };

  const knative = options.knativeObjects;
  const namespaces = knative.filter(isNamespace);
  const namespace = namespaces[0]?.metadata.name;
  if (!namespace) throw new PlanError('knative/ renders no Namespace: the deploy needs the pipeline namespace');
  const ksvcs = knative.filter(isKsvc);
  if (ksvcs.length === 0) throw new PlanError('knative/ renders no Knative Service');
  const kafkaSinks = knative.filter(isKafkaSink);
  const kafkaSources = knative.filter(isKafkaSource);
  const pingSources = knative.filter(isPingSource);
  const grouped = new Set([...namespaces, ...ksvcs, ...kafkaSinks, ...kafkaSources, ...pingSources]);
  const others = knative.filter((o) => !grouped.has(o));

  // Functions and images: the manifests name dev.local/big-data-pipeline/<name>:<version>.
  const functions = ksvcs.map((ksvc) => {
    const container = userContainer(ksvc);
    const expected = localImage(ksvc.metadata.name, options.version);
    if (!container) throw new PlanError(`${objectId(ksvc)}: no container image`);
    if (container.image !== expected) {
      throw new PlanError(`${objectId(ksvc)} uses image ${container.image}, but the deploy builds ${expected} (package.json version ${options.version}): make them agree`);
    }
    return { name: ksvc.metadata.name, image: expected, container: container.name };
  });
  // Every project image, the functions' and platform/'s own (the web dashboard), built once each.
  const images = new Map<string, { name: string; image: string; dockerfile: string }>();
  for (const found of projectImages([...ksvcs, ...(options.platform.objects ?? [])])) {
    if (found.tag !== options.version) {
      throw new PlanError(`${found.by} uses image ${found.image}, but the deploy builds ${localImage(found.name, options.version)} (package.json version ${options.version}): make them agree`);
    }
    images.set(found.name, { name: found.name, image: found.image, dockerfile: options.dockerfiles?.[found.name] ?? DOCKERFILE });
  }
  const bundled = [...images.values()].filter((i) => i.dockerfile === DOCKERFILE);
  const bundles = bundled.filter((i) => functions.some((f) => f.name === i.name)).map((i) => `dist/${i.name}/index.mjs`);
  // A platform image (the web dashboard) is a bundle too unless it has images/<name>.Dockerfile.
  const platformBundles = bundled.filter((i) => !functions.some((f) => f.name === i.name));
  const via = shipVia(options.context, options.registry, options.minikube);
  const deployedKsvcs = via.type === 'push' ? withRegistry(ksvcs, via.target) : ksvcs;
  const platformObjects = (options.platform.objects ?? []).filter((o) => !(isNamespace(o) && o.metadata.name === namespace));
  const deployedPlatform = via.type === 'push' ? withRegistry(platformObjects, via.target) : platformObjects;

  // --- checks: nothing below runs unless all of these pass ---
  add('check:kubectl', 'check', 'kubectl is installed (remote release manifests and kustomize go through it)', { type: 'check-kubectl' });
  add('check:context', 'check', `a current kube context${options.context ? ` (${options.context})` : ''}`, { type: 'check-context' });
  add('check:cluster', 'check', `the API server answers; its version (Knative ${options.releases.find((r) => r.name.startsWith('serving'))?.version ?? ''} wants Kubernetes ≥ 1.${MIN_KUBERNETES_MINOR})`, {
    type: 'check-cluster',
    minMinor: MIN_KUBERNETES_MINOR,
  });
  add('check:image-tool', 'check', 'docker or podman with a running engine, to build the function images', { type: 'check-image-tool' });
  if (via.type === 'none') add('check:registry', 'check', 'where the images go', { type: 'fail', message: via.why });
  else if (via.type === 'kind') add('check:kind', 'check', `kind is installed (kind load image-archive --name ${via.cluster})`, { type: 'check-tool', tool: 'kind', why: `the context ${options.context} is a kind cluster` });
  else if (via.type === 'minikube') add('check:minikube', 'check', 'minikube is installed (minikube image load)', { type: 'check-tool', tool: 'minikube', why: `the context ${options.context} is a minikube profile` });
  add('check:bundles', 'check', `the esbuild bundles exist (make build): ${bundles.join(', ')}`, {
    type: 'check-files',
    paths: bundles,
    hint: 'run make build first',
  });
  if (platformBundles.length > 0) {
    add('check:platform-images', 'check', `something builds ${platformBundles.map((i) => i.image).join(', ')} (run by ${options.platform.dir})`, {
      type: 'check-files',
      paths: platformBundles.map((i) => `dist/${i.name}/index.mjs`),
      hint: `${options.platform.dir} runs ${platformBundles.map((i) => i.image).join(', ')}, built from images/<name>.Dockerfile if there is one, else as a bundle by images/function.Dockerfile; neither exists yet`,
    });
  }
  if (!options.platform.objects) {
    add('check:platform', 'check', `${options.platform.dir} renders`, { type: 'fail', message: options.platform.problem ?? `${options.platform.dir} could not be rendered` });
  }
  const generated = generatedSecrets(namespace);
  const manifestSecrets = new Set([...knative, ...(options.platform.objects ?? [])].filter((o) => o.apiVersion === 'v1' && o.kind === 'Secret').map((o) => o.metadata.name));
  const unknownSecrets = referencedSecrets([...knative, ...(options.platform.objects ?? [])]).filter(
    (r) => !manifestSecrets.has(r.secret) && !generated.some((g) => g.name === r.secret && (r.key === undefined || r.key in g.data)),
  );
  if (unknownSecrets.length > 0) {
    const list = [...new Set(unknownSecrets.map((r) => `${r.secret}${r.key ? `.${r.key}` : ''} (${r.by})`))].join(', ');
    add('check:secrets', 'check', 'every Secret key the manifests read is one the deploy generates', {
      type: 'fail',
      message: `the manifests read Secret keys the deploy does not generate: ${list}; add them to generatedSecrets() in cli/deploy/plan.ts`,
    });
  }

  // --- Knative, Kourier, KEDA: the pinned releases, in file order ---
  const servingCore = options.releases.findIndex((r) => r.name === 'serving-core');
  options.releases.forEach((release, i) => {
    const patched = release.patches.length > 0 ? `, with ${release.patches.map(describePatch).join('; ')}` : '';
    add(`install:${release.name}`, 'install', `${release.name} ${release.version}${release.serverSide ? ' (server-side)' : ''}: ${release.url}${patched}`, {
      type: 'apply-release',
      release: release.name,
      url: release.url,
      serverSide: release.serverSide,
      patches: release.patches,
    });
    const wait: WaitFor = { type: 'release-ready', release: release.name, ...(release.waitNamespace ? { namespace: release.waitNamespace } : {}) };
    add(`wait:${release.name}`, 'wait', describeWait(wait), { type: 'wait', waits: [wait], timeoutMs: t.releaseMs });
    if (i === servingCore) {
      const entries = [LOCAL_REGISTRY, ...(options.registry && options.registrySkipsTagResolving ? [options.registry.split('/')[0]!] : [])];
      add('configure:config-deployment', 'configure', `knative-serving/config-deployment registries-skipping-tag-resolving includes ${entries.join(', ')} (dev.local images are used as loaded, no digest lookup)`, {
        type: 'ensure-list',
        namespace: 'knative-serving',
        configMap: 'config-deployment',
        key: 'registries-skipping-tag-resolving',
        whenAbsent: SKIP_TAG_RESOLVING_DEFAULT,
        entries,
      });
    }
  });

  // --- the namespace, its Secrets, the platform ---
  add('apply:namespace', 'apply', `namespace ${namespace}`, { type: 'apply', objects: namespaces, force });
  for (const secret of generated) {
    add(`secret:${secret.name}`, 'secret', `${namespace}/${secret.name} {${Object.keys(secret.data).join(', ')}}: created with random passwords if absent, never overwritten`, secret);
  }
  // --- images: before platform/, whose web dashboard is one of them, and before the functions ---
  const tool = options.containerTool ?? '<docker|podman>';
  for (const i of images.values()) {
    add(`build:${i.name}`, 'build', `${tool} build -f ${i.dockerfile} --build-arg FUNCTION=${i.name} -t ${i.image} .`, {
      type: 'build-image',
      fn: i.name,
      image: i.image,
      dockerfile: i.dockerfile,
      ignoreFile: i.dockerfile === DOCKERFILE ? DOCKER_IGNORE : `${i.dockerfile}.dockerignore`,
      context: '.',
    });
  }
  for (const i of images.values()) {
    const shipped: ShipVia = via.type === 'none' ? { type: 'from-context' } : via;
    add(`ship:${i.name}`, 'ship', describeShip(i.image, i.name, options.version, shipped, tool), { type: 'ship-image', image: i.image, via: shipped });
  }

  const platformWait = platformWaits(platformObjects);
  add('apply:platform', 'apply', options.platform.objects ? `${options.platform.dir} (${platformObjects.length} objects, kubectl kustomize)` : `${options.platform.dir} (not rendered)`, {
    type: 'apply',
    objects: deployedPlatform,
    force,
  });
  add('wait:platform', 'wait', platformWait.length > 0 ? platformWait.map(describeWait).join('; ') : 'the platform workloads', { type: 'wait', waits: platformWait, timeoutMs: t.platformMs });

  // --- the pipeline, in the order that loses no event ---
  if (others.length > 0) add('apply:other', 'apply', names(others), { type: 'apply', objects: others, force });
  if (kafkaSinks.length > 0) {
    add('apply:kafka-sinks', 'apply', `KafkaSink ${names(kafkaSinks)}`, { type: 'apply', objects: kafkaSinks, force });
    add('wait:kafka-sinks', 'wait', `KafkaSink ${names(kafkaSinks)} Ready (topic exists)`, { type: 'wait', waits: ready(kafkaSinks), timeoutMs: t.sourcesMs });
  }
  add('apply:services', 'apply', `Knative Services ${names(deployedKsvcs)}${via.type === 'push' ? ` (images from ${via.target})` : ''}`, { type: 'apply', objects: deployedKsvcs, force });
  add('wait:services', 'wait', `Knative Services ${names(ksvcs)} Ready (first revision started and passed readiness)`, { type: 'wait', waits: ready(ksvcs), timeoutMs: t.servicesMs });
  if (kafkaSources.length > 0) {
    add('apply:kafka-sources', 'apply', `KafkaSource ${names(kafkaSources)}`, { type: 'apply', objects: kafkaSources, force });
    add('wait:kafka-sources', 'wait', `KafkaSource ${names(kafkaSources)} Ready (initial offsets committed)`, { type: 'wait', waits: ready(kafkaSources), timeoutMs: t.sourcesMs });
  }
  if (pingSources.length > 0) {
    add('apply:ping-sources', 'apply', `PingSource ${names(pingSources)} (last: their events find the KafkaSources ready)`, { type: 'apply', objects: pingSources, force });
    add('wait:ping-sources', 'wait', `PingSource ${names(pingSources)} Ready`, { type: 'wait', waits: ready(pingSources), timeoutMs: t.sourcesMs });
  }

  add('print:summary', 'print', 'URLs (kubectl get ksvc), where the credentials are, a curl line through Kourier', {
    type: 'summary',
    namespace,
    services: functions.map((f) => ({
      name: f.name,
      container: f.container,
      visibility: ksvcs.find((k) => k.metadata.name === f.name)?.metadata.labels?.['networking.knative.dev/visibility'] === 'cluster-local' ? 'cluster-local' : 'public',
    })),
    secrets: generatedSecrets(namespace).map((s) => ({ name: s.name, keys: Object.keys(s.data) })),
    consoles: consolesOf(platformObjects),
  });
  return steps;
}

function describeShip(image: string, fn: string, version: string, via: ShipVia, tool: string): string {
  switch (via.type) {
    case 'kind':
      return `${tool} save ${image} → kind load image-archive --name ${via.cluster}`;
    case 'minikube':
      return `minikube image load ${image} -p ${via.profile}`;
    case 'push': {
      const target = registryImage(via.target, fn, version);
      return `${tool} tag ${image} ${target} && ${tool} push ${target}`;
    }
    case 'from-context':
      return `${image}: kind load image-archive (context kind-*), minikube image load (a minikube profile), or push to REGISTRY; decided from the context at run time`;
  }
}

// ---------------------------------------------------------------------------------------
// The undeploy plan

export interface UndeployOptions {
  knativeObjects: K8sObject[];
  platform: PlatformInput;
  releases: Release[];
  /** ALL=1: also uninstall Knative, Kourier and KEDA. */
  all: boolean;
  timeouts?: Partial<Timeouts>;
}

export const OFFSETS_WARNING =
  'Deleting a KafkaSource deletes its consumer group and the group\'s committed offsets in Kafka (the Knative controller\'s finalizer does it). ' +
  'A later make deploy starts the sources again from initialOffset (latest): events produced in between are never delivered.';

export function undeployPlan(options: UndeployOptions): Step[] {
  const t = { ...defaultTimeouts, ...options.timeouts };
  const steps: Step[] = [];
  const add = (id: string, kind: StepKind, description: string, action: Action) => steps.push({ id, kind, description, action });
  const knative = options.knativeObjects;
  const namespace = knative.find(isNamespace)?.metadata.name;
  if (!namespace) throw new PlanError('knative/ renders no Namespace');
  const gone = (refs: ObjectRef[]): Action => ({ type: 'wait', waits: refs.map((ref) => ({ type: 'gone', ref })), timeoutMs: t.deleteMs });

  add('print:offsets', 'print', 'what deleting KafkaSources means', { type: 'message', text: OFFSETS_WARNING });
  const pingSources = knative.filter(isPingSource).map(refOf);
  const kafkaSources = knative.filter(isKafkaSource).map(refOf);
  if (pingSources.length > 0) add('delete:ping-sources', 'delete', 'PingSources first: no new ticks', { type: 'delete', refs: pingSources });
  if (kafkaSources.length > 0) {
    add('delete:kafka-sources', 'delete', 'KafkaSources (their consumer groups and offsets go with them)', { type: 'delete', refs: kafkaSources });
    // The finalizer needs Kafka: the platform is deleted only after it ran.
    add('wait:kafka-sources-gone', 'wait', 'KafkaSource finalizers done (consumer groups deleted in Kafka)', gone(kafkaSources));
  }
  const rest = knative.filter((o) => !isNamespace(o) && !isPingSource(o) && !isKafkaSource(o)).map(refOf);
  add('delete:functions', 'delete', 'Knative Services, KafkaSinks and the rest of knative/', { type: 'delete', refs: rest });
  const platformRefs = (options.platform.objects ?? []).filter((o) => !isNamespace(o)).map(refOf).reverse();
  if (platformRefs.length > 0) add('delete:platform', 'delete', `${options.platform.dir} (${platformRefs.length} objects)`, { type: 'delete', refs: platformRefs });
  const secrets = generatedSecrets(namespace).map((s): ObjectRef => ({ apiVersion: 'v1', kind: 'Secret', name: s.name, namespace }));
  add('delete:secrets', 'delete', `generated Secrets ${secrets.map((s) => s.name).join(', ')}`, { type: 'delete', refs: secrets });
  const nsRef: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name: namespace };
  add('delete:namespace', 'delete', `namespace ${namespace} (with its PersistentVolumeClaims: Kafka and Elasticsearch data)`, { type: 'delete', refs: [nsRef] });
  add('wait:namespace-gone', 'wait', `namespace ${namespace} deleted`, gone([nsRef]));
  if (options.all) {
    for (const release of [...options.releases].reverse()) {
      add(`uninstall:${release.name}`, 'delete', `${release.name} ${release.version}: kubectl delete -f ${release.url}`, { type: 'delete-url', url: release.url });
    }
  } else {
    add('print:kept', 'print', 'what stays', { type: 'message', text: 'Knative Serving, Kourier, Eventing, Eventing Kafka and KEDA stay installed (make undeploy ALL=1 removes them too).' });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------
// Printing

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
