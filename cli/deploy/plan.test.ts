import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { render, repoRoot } from '../manifests/index.ts';
import { fakePlatform, repoPlanOptions } from '../../test/deploy-fixtures.ts';
import { PlanError, plan } from './plan.ts';
import { CA_SECRET, referencedSecrets } from './secrets.ts';
import { type Action, type Step, formatPlan } from './steps.ts';
import { OFFSETS_WARNING, undeployPlan } from './undeploy.ts';

const ids = (steps: Step[]) => steps.map((s) => s.id);
const at = (steps: Step[], id: string): number => {
  const i = ids(steps).indexOf(id);
  if (i < 0) throw new Error(`no step ${id} in ${ids(steps).join(', ')}`);
  return i;
};
const first = (steps: Step[], match: (s: Step) => boolean) => steps.findIndex(match);
const last = (steps: Step[], match: (s: Step) => boolean) => steps.map(match).lastIndexOf(true);
/** Knative kinds only: platform/ has core Services too. */
const appliesKind = (kind: string) => (s: Step) =>
  s.action.type === 'apply' && s.action.objects.some((o) => o.kind === kind && /knative\.dev\//.test(o.apiVersion));
const action = <T extends Action['type']>(step: Step, type: T) => {
  expect(step.action.type).toBe(type);
  return step.action as Extract<Action, { type: T }>;
};

describe('plan(): the order make deploy depends on', () => {
  const steps = plan(repoPlanOptions());

  it('checks everything before touching anything', () => {
    const lastCheck = last(steps, (s) => s.kind === 'check');
    expect(first(steps, (s) => s.kind !== 'check')).toBe(lastCheck + 1);
    expect(ids(steps).slice(0, 4)).toEqual(['check:kubectl', 'check:context', 'check:cluster', 'check:image-tool']);
    expect(ids(steps)).toContain('check:kind');
  });

  it('installs the releases in keda/releases.yaml order, each followed by its wait', () => {
    const installs = steps.filter((s) => s.kind === 'install').map((s) => s.id.slice('install:'.length));
    expect(installs).toEqual(repoPlanOptions().releases.map((r) => r.name));
    for (const name of installs) expect(at(steps, `wait:${name}`)).toBe(at(steps, `install:${name}`) + 1);
  });

  it('puts the CRDs before the objects that need them', () => {
    // Serving CRDs (ksvc), Eventing CRDs (PingSource), Kafka CRDs (KafkaSource, KafkaSink), KEDA (ScaledObjects the Kafka controller makes).
    expect(at(steps, 'wait:serving-crds')).toBeLessThan(at(steps, 'install:serving-core'));
    expect(at(steps, 'wait:serving-crds')).toBeLessThan(first(steps, appliesKind('Service')));
    expect(at(steps, 'wait:eventing-crds')).toBeLessThan(at(steps, 'install:eventing-core'));
    expect(at(steps, 'wait:eventing-crds')).toBeLessThan(first(steps, appliesKind('PingSource')));
    expect(at(steps, 'wait:eventing-kafka-source')).toBeLessThan(first(steps, appliesKind('KafkaSource')));
    expect(at(steps, 'wait:eventing-kafka-sink')).toBeLessThan(first(steps, appliesKind('KafkaSink')));
    expect(at(steps, 'wait:keda')).toBeLessThan(at(steps, 'install:eventing-kafka-controller'));
  });

  it('installs every release with its patches in the YAML: the KEDA integration and the dispatcher settings never revert', () => {
    const install = (name: string) => action(steps[at(steps, `install:${name}`)]!, 'apply-release');
    expect(install('eventing-kafka-controller').patches).toContainEqual({ kind: 'ConfigMap', name: 'config-kafka-features', data: { 'controller-autoscaler-keda': 'enabled' } });
    expect(install('eventing-kafka-controller').patches).toContainEqual(expect.objectContaining({ kind: 'Deployment', name: 'kafka-controller', env: { POD_CAPACITY: '1', DISPATCHERS_MIN_REPLICAS: '0' } }));
    expect(install('eventing-kafka-source').patches).toContainEqual(expect.objectContaining({ kind: 'ConfigMap', name: 'config-kafka-source-data-plane' }));
    expect(install('serving-core').patches).toEqual([{ kind: 'ConfigMap', name: 'config-network', data: { 'ingress-class': 'kourier.ingress.networking.knative.dev' } }]);
    // Nothing re-applies those ConfigMaps afterwards: the release itself carries the values.
    const laterApplies = steps.filter((s) => s.action.type === 'apply').flatMap((s) => (s.action as Extract<Action, { type: 'apply' }>).objects);
    expect(laterApplies.filter((o) => o.metadata.namespace === 'knative-eventing' || o.metadata.namespace === 'knative-serving')).toEqual([]);
    expect(steps[at(steps, 'install:eventing-kafka-controller')]!.description).toContain('controller-autoscaler-keda=enabled');
  });

  it('keeps dev.local unresolved', () => {
    const ensure = action(steps[at(steps, 'configure:config-deployment')]!, 'ensure-list');
    expect(ensure).toMatchObject({ namespace: 'knative-serving', configMap: 'config-deployment', key: 'registries-skipping-tag-resolving', entries: ['dev.local'] });
    expect(ensure.whenAbsent.split(',')).toContain('dev.local');
    expect(at(steps, 'configure:config-deployment')).toBeGreaterThan(at(steps, 'wait:serving-core'));
  });

  it('creates the namespace, then the Secrets, then the platform, and waits for it before any function', () => {
    const secrets = steps.filter((s) => s.kind === 'secret').map((s) => s.id);
    expect(secrets).toEqual(['secret:elasticsearch-superuser', 'secret:elasticsearch-credentials', 'secret:kibana-credentials', 'secret:grafana-admin']);
    expect(at(steps, 'apply:namespace')).toBeLessThan(at(steps, secrets[0]!));
    expect(last(steps, (s) => s.kind === 'secret')).toBeLessThan(at(steps, 'apply:platform'));
    expect(at(steps, 'wait:platform')).toBe(at(steps, 'apply:platform') + 1);
    const platformReady = at(steps, 'wait:platform');
    for (const kind of ['KafkaSink', 'Service', 'KafkaSource', 'PingSource']) expect(platformReady).toBeLessThan(first(steps, appliesKind(kind)));
  });

  it('waits for the platform StatefulSets, Deployments and Jobs', () => {
    const waits = action(steps[at(steps, 'wait:platform')]!, 'wait').waits;
    expect(waits).toContainEqual({ type: 'statefulset-ready', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'kafka', namespace: 'big-data-pipeline' } });
    expect(waits).toContainEqual({ type: 'statefulset-ready', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'zookeeper', namespace: 'big-data-pipeline' } });
    expect(waits).toContainEqual({ type: 'statefulset-ready', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'elasticsearch', namespace: 'big-data-pipeline' } });
    expect(waits).toContainEqual({ type: 'condition', ref: { apiVersion: 'batch/v1', kind: 'Job', name: 'kafka-topics', namespace: 'big-data-pipeline' }, condition: 'Complete' });
    expect(waits).toContainEqual({ type: 'condition', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'kibana', namespace: 'big-data-pipeline' }, condition: 'Available' });
    // The namespace is applied once, by apply:namespace.
    expect(action(steps[at(steps, 'apply:platform')]!, 'apply').objects.some((o) => o.kind === 'Namespace')).toBe(false);
  });

  it('builds and ships every image before the Knative Services', () => {
    const services = at(steps, 'apply:services');
    for (const fn of ['generate', 'enrich', 'index', 'window-aggregate']) {
      expect(at(steps, `build:${fn}`)).toBeLessThan(at(steps, `ship:${fn}`));
      expect(at(steps, `ship:${fn}`)).toBeLessThan(services);
      const build = action(steps[at(steps, `build:${fn}`)]!, 'build-image');
      expect(build).toMatchObject({ fn, image: `dev.local/big-data-pipeline/${fn}:0.1.0`, dockerfile: 'images/function.Dockerfile' });
      expect(action(steps[at(steps, `ship:${fn}`)]!, 'ship-image').via).toEqual({ type: 'kind', cluster: 'bdp' });
    }
  });

  it("builds the platform's own images too (the web dashboard), before applying platform/", () => {
    const dashboard = { ...fakePlatform[8]!, metadata: { name: 'dashboard', namespace: 'big-data-pipeline' }, spec: { template: { spec: { containers: [{ name: 'dashboard', image: 'dev.local/big-data-pipeline/dashboard:0.1.0' }] } } } };
    const platform = { dir: 'platform', objects: [...fakePlatform, dashboard] };
    const s = plan(repoPlanOptions({ platform }));
    expect(at(s, 'ship:dashboard')).toBeLessThan(at(s, 'apply:platform'));
    expect(action(s[at(s, 'check:platform-images')]!, 'check-files').paths).toEqual(['dist/dashboard/index.mjs']);

    const own = plan(repoPlanOptions({ platform, dockerfiles: { dashboard: 'images/dashboard.Dockerfile' } }));
    expect(action(own[at(own, 'build:dashboard')]!, 'build-image')).toMatchObject({ dockerfile: 'images/dashboard.Dockerfile', ignoreFile: 'images/dashboard.Dockerfile.dockerignore' });
    expect(ids(own)).not.toContain('check:platform-images');

    const pushed = plan(repoPlanOptions({ platform, context: 'gke_p_z_c', registry: 'ghcr.io/acme' }));
    const applied = action(pushed[at(pushed, 'apply:platform')]!, 'apply').objects.find((o) => o.metadata.name === 'dashboard' && o.kind === 'Deployment')!;
    expect(JSON.stringify(applied)).toContain('"image":"ghcr.io/acme/big-data-pipeline/dashboard:0.1.0"');
    expect(JSON.stringify(dashboard)).toContain('dev.local/big-data-pipeline/dashboard:0.1.0');
  });

  it('applies KafkaSink, Services (Ready), KafkaSources (Ready), PingSources last', () => {
    expect(ids(steps).slice(at(steps, 'apply:kafka-sinks'))).toEqual([
      'apply:kafka-sinks',
      'wait:kafka-sinks',
      'apply:services',
      'wait:services',
      'apply:kafka-sources',
      'wait:kafka-sources',
      'apply:ping-sources',
      'wait:ping-sources',
      'print:summary',
    ]);
    expect(last(steps, appliesKind('KafkaSource'))).toBeLessThan(first(steps, appliesKind('PingSource')));
    const serviceWaits = action(steps[at(steps, 'wait:services')]!, 'wait').waits;
    expect(serviceWaits.map((w) => w.type === 'condition' && `${w.ref.kind}/${w.ref.name} ${w.condition}`).sort()).toEqual(
      ['Service/enrich Ready', 'Service/generate Ready', 'Service/index Ready', 'Service/window-aggregate Ready'],
    );
  });

  it('ships to kind, minikube or REGISTRY, and rewrites the images only for a registry', () => {
    const shipOf = (s: Step[]) => action(s[at(s, 'ship:enrich')]!, 'ship-image').via;
    const imagesOf = (s: Step[]) =>
      action(s[at(s, 'apply:services')]!, 'apply').objects.map((o) => (o['spec'] as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image);

    expect(shipOf(plan(repoPlanOptions({ context: 'minikube' })))).toEqual({ type: 'minikube', profile: 'minikube' });
    // `minikube -p dev` names its context dev: the kubeconfig's minikube marker decides, not the name.
    expect(shipOf(plan(repoPlanOptions({ context: 'dev', minikube: true })))).toEqual({ type: 'minikube', profile: 'dev' });
    const unmarked = plan(repoPlanOptions({ context: 'dev' }));
    expect(action(unmarked[at(unmarked, 'check:registry')]!, 'fail').message).toMatch(/context "dev" is neither kind-\* nor a minikube profile/);
    expect(imagesOf(steps).every((i) => i.startsWith('dev.local/big-data-pipeline/'))).toBe(true);

    const pushed = plan(repoPlanOptions({ context: 'gke_p_z_c', registry: 'ghcr.io/acme/' }));
    expect(shipOf(pushed)).toEqual({ type: 'push', target: 'ghcr.io/acme/' });
    expect(imagesOf(pushed).sort()).toEqual(['enrich', 'generate', 'index', 'window-aggregate'].map((f) => `ghcr.io/acme/big-data-pipeline/${f}:0.1.0`));
    // The rendered objects themselves stay untouched.
    expect(imagesOf(plan(repoPlanOptions())).every((i) => i.startsWith('dev.local/'))).toBe(true);
  });

  it('stops early and clearly when the images have nowhere to go', () => {
    const s = plan(repoPlanOptions({ context: 'gke_p_z_c' }));
    const check = s[at(s, 'check:registry')]!;
    expect(action(check, 'fail').message).toMatch(/REGISTRY/);
    expect(at(s, 'check:registry')).toBeLessThan(first(s, (x) => x.kind !== 'check'));
  });

  it('refuses manifests whose image tag is not the package version', () => {
    expect(() => plan(repoPlanOptions({ version: '9.9.9' }))).toThrow(PlanError);
    expect(() => plan(repoPlanOptions({ version: '9.9.9' }))).toThrow(/dev\.local\/big-data-pipeline\/\S+:9\.9\.9/);
  });

  it('still prints a plan when platform/ cannot be rendered, which stops at the checks', () => {
    const s = plan(repoPlanOptions({ platform: { dir: 'platform', problem: 'platform/ has no kustomization.yaml' }, context: undefined }));
    expect(action(s[at(s, 'check:platform')]!, 'fail').message).toMatch(/kustomization/);
    expect(action(s[at(s, 'ship:enrich')]!, 'ship-image').via).toEqual({ type: 'from-context' });
    expect(formatPlan(s)).toMatch(/will stop here: platform\/ has no kustomization.yaml/);
  });
});

describe('plan() and the Secrets the manifests read', () => {
  it('finds every secretKeyRef, envFrom, volume and KafkaSink auth, optional ones left out', () => {
    const pod = (spec: unknown) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec } } });
    const refs = referencedSecrets([
      pod({
        containers: [{ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } }, { name: 'B', valueFrom: { secretKeyRef: { name: 's2', key: 'k', optional: true } } }], envFrom: [{ secretRef: { name: 's3' } }] }],
        volumes: [{ name: 'v', secret: { secretName: 's4' } }],
      }),
    ]);
    expect(refs).toEqual([{ secret: 's1', key: 'k', by: 'Deployment/x' }, { secret: 's3', by: 'Deployment/x' }, { secret: 's4', by: 'Deployment/x' }]);
    // A volume that lists its items reads those keys.
    expect(referencedSecrets([pod({ volumes: [{ name: 'ca', secret: { secretName: 's5', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] })])).toEqual([{ secret: 's5', key: 'ca.crt', by: 'Deployment/x' }]);
    // A KafkaSink's auth reads the whole Secret; a KafkaSource's net, each key it names.
    const sink = { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', metadata: { name: 'dl' }, spec: { auth: { secret: { ref: { name: 's6' } } } } };
    const source = { apiVersion: 'sources.knative.dev/v1', kind: 'KafkaSource', metadata: { name: 'src' }, spec: { net: { sasl: { enable: true, user: { secretKeyRef: { name: 's7', key: 'user' } } } } } };
    expect(referencedSecrets([sink, source])).toEqual([{ secret: 's6', by: 'KafkaSink/dl' }, { secret: 's7', key: 'user', by: 'KafkaSource/src' }]);
  });

  it('creates the Kafka users, the CA and the certificates only for manifests that read them', () => {
    const secretIds = (steps: Step[]) => steps.filter((step) => step.kind === 'secret').map((step) => step.id);
    const basic = ['secret:elasticsearch-superuser', 'secret:elasticsearch-credentials', 'secret:kibana-credentials', 'secret:grafana-admin'];
    expect(secretIds(plan(repoPlanOptions()))).toEqual(basic);
    const dir = join(repoRoot, 'platform', 'overlays', 'production');
    const s = plan(repoPlanOptions({ platform: { dir: 'platform/overlays/production', objects: render(dir) } }));
    expect(secretIds(s)).toEqual([`secret:${CA_SECRET}`, ...basic, 'secret:kafka-broker-auth', 'secret:kafka-tls', 'secret:elasticsearch-tls', 'secret:kafka-client-auth']);
    expect(ids(s)).not.toContain('check:secrets');
    // Certificates are not credentials: the summary leaves them out.
    expect(action(s[at(s, 'print:summary')]!, 'summary').secrets.map((x) => x.name)).not.toContain('kafka-tls');
  });

  it('stops at the checks when a manifest reads a Secret key the deploy does not generate', () => {
    const extra = { ...fakePlatform[5]!, spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'kafka-tls', key: 'keystore.p12' } } }] }] } } } };
    const s = plan(repoPlanOptions({ platform: { dir: 'platform', objects: [...fakePlatform, extra] } }));
    expect(action(s[at(s, 'check:secrets')]!, 'fail').message).toMatch(/kafka-tls\.keystore\.p12 \(StatefulSet\/zookeeper\)/);
  });

  it('stops at the checks when a certificate would name no host: no StatefulSet serves with it', () => {
    const extra = { ...fakePlatform[5]!, spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'kafka-tls', key: 'ca.crt' } } }] }] } } } };
    const s = plan(repoPlanOptions({ platform: { dir: 'platform', objects: [...fakePlatform, extra] } }));
    expect(action(s[at(s, 'check:secrets')]!, 'fail').message).toMatch(/kafka-tls is read, but no StatefulSet mounts it/);
  });

  it('generates every Secret key that platform/ and knative/ read', () => {
    const dir = join(repoRoot, 'platform');
    const platform = existsSync(join(dir, 'kustomization.yaml')) ? { dir: 'platform', objects: render(dir) } : { dir: 'platform', problem: 'absent' };
    const s = plan(repoPlanOptions({ platform }));
    expect(ids(s)).not.toContain('check:secrets');
    if (platform.objects) {
      // The real platform: the deploy waits for its stateful pieces and setup Jobs.
      const waits = action(s[at(s, 'wait:platform')]!, 'wait').waits.map((w) => (w.type === 'release-ready' ? w.release : `${w.ref.kind}/${w.ref.name}`));
      expect(waits).toEqual(expect.arrayContaining(['StatefulSet/kafka', 'StatefulSet/elasticsearch', 'Job/kafka-topics']));
    }
  });
});

describe('undeployPlan()', () => {
  const base = repoPlanOptions();
  const steps = undeployPlan({ knativeObjects: base.knativeObjects, platform: base.platform, releases: base.releases, all: false });

  it('says first that deleting a KafkaSource deletes its offsets', () => {
    expect(action(steps[0]!, 'message').text).toBe(OFFSETS_WARNING);
    expect(OFFSETS_WARNING).toMatch(/consumer group.*offsets/);
  });

  it('stops the ticks, then deletes the sources and waits for their finalizers while Kafka is still there', () => {
    expect(at(steps, 'delete:ping-sources')).toBeLessThan(at(steps, 'delete:kafka-sources'));
    expect(at(steps, 'wait:kafka-sources-gone')).toBeLessThan(at(steps, 'delete:platform'));
    expect(at(steps, 'delete:platform')).toBeLessThan(at(steps, 'delete:namespace'));
    expect(ids(steps)).not.toContain('uninstall:keda');
  });

  it('uninstalls Knative and KEDA in reverse install order only with ALL=1', () => {
    const all = undeployPlan({ knativeObjects: base.knativeObjects, platform: base.platform, releases: base.releases, all: true });
    const uninstalls = all.filter((s) => s.id.startsWith('uninstall:')).map((s) => s.id.slice('uninstall:'.length));
    expect(uninstalls).toEqual(base.releases.map((r) => r.name).reverse());
    expect(at(all, `uninstall:${uninstalls[0]}`)).toBeGreaterThan(at(all, 'wait:namespace-gone'));
  });
});
