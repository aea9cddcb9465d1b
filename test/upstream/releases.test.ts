/**
 * keda/releases.yaml against the upstream files of the pinned versions: every patch finds
 * its object in the release it is attached to and sets what it says, the shipped values it
 * replaces are what cli/scaling/defaults.ts says they are, and the dispatcher settings the
 * local runtime reads are the patched ones.
 */
import { describe, expect, it } from 'vitest';
import { type K8sObject, dig } from '../../cli/manifests/index.ts';
import { type ReleasePatch, dispatcherSettings, getProperty, loadReleases, patchRelease, setProperties } from '../../cli/manifests/releases.ts';
import { DISPATCHER_DEFAULTS, KAFKA_AUTOSCALER_DEFAULTS } from '../../cli/scaling/defaults.ts';
import { type RebuiltRelease, releaseObjects } from './releases.ts';

const releases = loadReleases();
const REBUILT: RebuiltRelease[] = ['serving-core', 'eventing-kafka-controller', 'eventing-kafka-source'];

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
}

function env(object: K8sObject, container: string): Record<string, string | undefined> {
  const c = (dig(object, 'spec', 'template', 'spec', 'containers') as { name: string; env?: { name: string; value?: string }[]; resources?: unknown }[]).find((x) => x.name === container)!;
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

function consumerProperty(objects: K8sObject[], key: string): string | undefined {
  const data = find(objects, 'ConfigMap', 'config-kafka-source-data-plane')['data'] as Record<string, string>;
  return getProperty(data['config-kafka-source-consumer.properties']!, key);
}

describe('the releases as shipped (upstream files of the pinned versions)', () => {
  const controller = releaseObjects('eventing-kafka-controller');
  const source = releaseObjects('eventing-kafka-source');

  it('ship the KEDA integration disabled: the patch is what turns it on', () => {
    expect((find(controller, 'ConfigMap', 'config-kafka-features')['data'] as Record<string, string>)['controller-autoscaler-keda']).toBe('disabled');
  });

  it('ship the dispatcher plane that cli/scaling/defaults.ts describes', () => {
    const controllerEnv = env(find(controller, 'Deployment', 'kafka-controller'), 'controller');
    expect({
      podCapacity: Number(controllerEnv['POD_CAPACITY']),
      minReplicas: Number(controllerEnv['DISPATCHERS_MIN_REPLICAS']),
      refreshPeriodS: Number(controllerEnv['AUTOSCALER_REFRESH_PERIOD']),
      maxPollRecords: Number(consumerProperty(source, 'max.poll.records')),
      commitIntervalMs: Number(consumerProperty(source, 'auto.commit.interval.ms')),
    }).toEqual(DISPATCHER_DEFAULTS);
  });

  it('ship the KafkaSource autoscaling defaults that cli/scaling/defaults.ts describes', () => {
    const data = find(controller, 'ConfigMap', 'config-kafka-autoscaler')['data'] as Record<string, string>;
    expect({
      class: data['class'],
      minScale: Number(data['min-scale']),
      maxScale: Number(data['max-scale']),
      pollingIntervalS: Number(data['polling-interval']),
      cooldownPeriodS: Number(data['cooldown-period']),
      lagThreshold: Number(data['lag-threshold']),
    }).toEqual(KAFKA_AUTOSCALER_DEFAULTS);
  });
});

describe('keda/releases.yaml patches', () => {
  it('pins every install manifest, in install order', () => {
    expect(releases.map((r) => `${r.name}@${r.version}`)).toEqual([
      'keda@v2.20.2',
      'serving-crds@knative-v1.23.0',
      'serving-core@knative-v1.23.0',
      'net-kourier@knative-v1.23.0',
      'eventing-crds@knative-v1.23.0',
      'eventing-core@knative-v1.23.0',
      'eventing-kafka-controller@knative-v1.23.1',
      'eventing-kafka-source@knative-v1.23.1',
      'eventing-kafka-sink@knative-v1.23.1',
    ]);
    expect(releases[0]).toMatchObject({ serverSide: true, url: 'https://github.com/kedacore/keda/releases/download/v2.20.2/keda-2.20.2.yaml' });
  });

  it.each(REBUILT)('%s: every patch finds its object and sets its values', (name) => {
    const release = releases.find((r) => r.name === name)!;
    expect(release.patches.length).toBeGreaterThan(0);
    const shipped = releaseObjects(name);
    const patched = patchRelease(shipped, release.patches, name);
    expect(patched).toHaveLength(shipped.length);
    for (const patch of release.patches) {
      const object = find(patched, patch.kind, patch.name);
      for (const [key, value] of Object.entries(patch.data ?? {})) expect((object['data'] as Record<string, string>)[key]).toBe(value);
      for (const [key, values] of Object.entries(patch.properties ?? {})) {
        for (const [property, value] of Object.entries(values)) expect(getProperty((object['data'] as Record<string, string>)[key]!, property)).toBe(value);
      }
      if (patch.container) {
        const e = env(object, patch.container);
        for (const [key, value] of Object.entries(patch.env ?? {})) expect(e[key]).toBe(value);
        const container = (dig(object, 'spec', 'template', 'spec', 'containers') as { name: string; resources?: unknown }[]).find((c) => c.name === patch.container)!;
        if (patch.resources) expect(container.resources).toEqual(patch.resources);
      }
    }
    // The shipped objects are left as they were.
    expect(JSON.stringify(releaseObjects(name))).toBe(JSON.stringify(shipped));
  });

  it('no other release ships an object a patch targets (a later apply would undo the patch)', () => {
    const targets = releases.flatMap((r) => r.patches.map((p) => ({ release: r.name, patch: p })));
    for (const name of REBUILT) {
      const objects = releaseObjects(name);
      for (const { release, patch } of targets) {
        if (release === name) continue;
        expect(objects.some((o) => o.kind === patch.kind && o.metadata.name === patch.name), `${name} also ships ${patch.kind}/${patch.name}`).toBe(false);
      }
    }
  });

  it('the local runtime reads the patched dispatcher plane: a vreplica per pod, no minimum, 50 records a poll', () => {
    expect(dispatcherSettings(releases)).toEqual({ podCapacity: 1, minReplicas: 0, refreshPeriodS: 100, maxPollRecords: 50 });
  });

  it('a patch for an object or container the release lacks is an error, not a silent no-op', () => {
    const objects = releaseObjects('eventing-kafka-controller');
    const missing: ReleasePatch[] = [
      { kind: 'ConfigMap', name: 'config-kafka-featurez', data: { x: 'y' } },
      { kind: 'Deployment', name: 'kafka-controller', container: 'manager', env: { POD_CAPACITY: '1' } },
    ];
    expect(() => patchRelease(objects, [missing[0]!], 'eventing-kafka-controller')).toThrow(/has no ConfigMap\/config-kafka-featurez/);
    expect(() => patchRelease(objects, [missing[1]!], 'eventing-kafka-controller')).toThrow(/has no container "manager"/);
  });
});

describe('setProperties', () => {
  it('replaces a key in place, keeps comments and order, appends a missing key before the trailing newline', () => {
    const text = '# max.poll.records=9\nfetch.min.bytes=1\n  max.poll.records = 50\nisolation.level=read_committed\n';
    expect(setProperties(text, { 'max.poll.records': '20', 'group.instance.id': 'x' })).toBe(
      '# max.poll.records=9\nfetch.min.bytes=1\n  max.poll.records=20\nisolation.level=read_committed\ngroup.instance.id=x\n',
    );
    expect(getProperty('# a=1\nb: 2\n', 'a')).toBeUndefined();
    expect(getProperty('# a=1\nb: 2\n', 'b')).toBe('2');
  });
});
