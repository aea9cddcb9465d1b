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
import type { K8sObject } from '../manifests/index.ts';
import type { Release, ReleasePatch } from '../manifests/releases.ts';
import { objectId } from '../manifests/index.ts';
import { DOCKERFILE, DOCKER_IGNORE, LOCAL_REGISTRY, SKIP_TAG_RESOLVING_DEFAULT, describeShip, localImage, projectImages, shipVia, withRegistry } from './images.ts';
import { consolesOf, isKafkaSink, isKafkaSource, isKsvc, isNamespace, isPingSource, names, platformWaits, ready, userContainer } from './objects.ts';
import { generatedSecrets, keysNotGenerated, secretProblems, secretsToCreate } from './secrets.ts';
import { type Action, type ShipVia, type Step, type StepKind, type WaitFor, describeWait } from './steps.ts';

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

function describePatch(patch: ReleasePatch): string {
  const values = { ...patch.data, ...Object.assign({}, ...Object.values(patch.properties ?? {})), ...patch.env } as Record<string, string>;
  const settings = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (patch.resources) settings.push(`resources ${JSON.stringify(patch.resources)}`);
  return `${patch.kind}/${patch.name} ${settings.join(', ')}`;
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
  const deployed = [...knative, ...(options.platform.objects ?? [])];
  const generated = generatedSecrets(namespace, deployed);
  const created = secretsToCreate(namespace, deployed);
  const notGenerated = keysNotGenerated(deployed, generated);
  const secretsWrong = [
    ...(notGenerated.length > 0 ? [`the manifests read Secret keys the deploy does not generate: ${notGenerated.join(', ')}; add them to generatedSecrets() in cli/deploy/secrets.ts`] : []),
    ...secretProblems(created),
  ];
  if (secretsWrong.length > 0) {
    add('check:secrets', 'check', 'every Secret key the manifests read is one the deploy generates', { type: 'fail', message: secretsWrong.join('; ') });
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
  for (const secret of created) {
    const values = Object.values(secret.data);
    const how = [
      ...(secret.certificate?.authority ? ['a new certificate authority'] : secret.certificate ? [`a certificate of ${secret.issuer} for ${secret.certificate.dnsNames.join(', ')}`] : []),
      ...(values.some((v) => 'random' in v) ? ['random passwords'] : []),
      ...(!secret.certificate && values.some((v) => 'pem' in v && v.pem === 'ca') ? [`the certificate of ${secret.issuer}`] : []),
    ].join(' and ');
    add(`secret:${secret.name}`, 'secret', `${namespace}/${secret.name} {${Object.keys(secret.data).join(', ')}}: created with ${how} if absent, never overwritten`, secret);
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
    // The credentials a person may want; certificates are only for the servers and clients.
    secrets: created.filter((s) => Object.values(s.data).some((v) => 'random' in v)).map((s) => ({ name: s.name, keys: Object.keys(s.data) })),
    consoles: consolesOf(platformObjects),
  });
  return steps;
}
