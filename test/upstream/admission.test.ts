/**
 * Check (f): what the Knative admission webhooks of the pinned releases do to our objects
 * (Serving v1 Service, KafkaSource, PingSource, KafkaSink: the real defaulting and
 * validating admission controllers on a CREATE, tools/upstream/knative admit.go).
 *
 * Every rendered object of knative/ and of knative/overlays/production is admitted. And the
 * manifest checks of cli/manifests/ (schemas + cross-checks), which stand in for a cluster
 * when nothing is applied, are never more lenient than the webhooks: over generated variants of the rendered
 * objects, whatever the checks accept, the webhooks admit. Deliberately weakened checks
 * must be caught.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, topicConfig } from '../../shared/config.ts';
import { pipelineTopics } from '../../shared/topology.ts';
import { type K8sObject, type Problem, crossCheck, objectId, render, repoRoot, topologyOf, validateObjects } from '../../cli/manifests/index.ts';
import { generate, report } from './cases.ts';
import { runCheck } from './modules.ts';

interface AdmitCase {
  id: string;
  object: K8sObject;
}

interface Answer {
  id: string;
  error?: string;
  kind?: string;
  errors: string | null;
  denied?: string;
}

const rendered = render(join(repoRoot, 'knative'));
const WEBHOOK_KINDS = new Set(['Service', 'KafkaSource', 'PingSource', 'KafkaSink']);
const admissible = rendered.filter((o) => WEBHOOK_KINDS.has(o.kind) && o.apiVersion !== 'v1');
// The production pipeline: secret volumes on the Services, spec.net on the KafkaSources, spec.auth on the KafkaSink.
const production = render(join(repoRoot, 'knative', 'overlays', 'production')).filter((o) => WEBHOOK_KINDS.has(o.kind) && o.apiVersion !== 'v1');
const topics = pipelineTopics(loadConfig(topicConfig, {}));

type Edit = (o: Record<string, any>) => void;
const at = (path: string[], value: unknown): Edit => (o) => {
  let node = o;
  for (const key of path.slice(0, -1)) node = node[key] ??= {};
  if (value === undefined) delete node[path[path.length - 1]!];
  else node[path[path.length - 1]!] = value;
};
const tmpl = ['spec', 'template', 'metadata', 'annotations'];
const A = 'autoscaling.knative.dev/';
const E = 'autoscaling.eventing.knative.dev/';

/** Edits per kind: plausible values, and mistakes a person could make. */
const EDITS: Record<string, fc.Arbitrary<Edit>> = {
  Service: fc.oneof(
    fc.constantFrom(0, 10, 100, -1, 1001).map((v) => at(['spec', 'template', 'spec', 'containerConcurrency'], v)),
    fc.constantFrom(30, 60, 301, 601, 0).map((v) => at(['spec', 'template', 'spec', 'timeoutSeconds'], v)),
    fc.constantFrom('50', '0', '-5', 'abc', '0.5').map((v) => at([...tmpl, `${A}target`], v)),
    fc.constantFrom('0', '3', '-1', 'x').map((v) => at([...tmpl, `${A}min-scale`], v)),
    fc.constantFrom('10', '2', '0', 'ten').map((v) => at([...tmpl, `${A}max-scale`], v)),
    fc.constantFrom('kpa.autoscaling.knative.dev', 'hpa.autoscaling.knative.dev', 'keda.autoscaling.knative.dev', 'custom.example.com').map((v) => at([...tmpl, `${A}class`], v)),
    fc.constantFrom('concurrency', 'rps', 'cpu', 'latency').map((v) => at([...tmpl, `${A}metric`], v)),
    fc.constantFrom('60s', '5s', '2h', 'soon').map((v) => at([...tmpl, `${A}window`], v)),
    fc.constantFrom('cluster-local', 'public', undefined).map((v) => at(['metadata', 'labels', 'networking.knative.dev/visibility'], v)),
  ),
  KafkaSource: fc.oneof(
    fc.constantFrom('ordered', 'unordered', 'sideways').map((v) => at(['spec', 'ordering'], v)),
    fc.constantFrom('earliest', 'latest', 'middle').map((v) => at(['spec', 'initialOffset'], v)),
    fc.constantFrom(0, 3, 10, -1).map((v) => at(['spec', 'delivery', 'retry'], v)),
    fc.constantFrom('PT0.2S', 'PT1S', '1s', 'P1Y', 'PT-1S').map((v) => at(['spec', 'delivery', 'backoffDelay'], v)),
    fc.constantFrom('linear', 'exponential', 'cubic').map((v) => at(['spec', 'delivery', 'backoffPolicy'], v)),
    fc.constantFrom('PT30S', 'PT5M', 'PT-1S', 'abc').map((v) => at(['spec', 'delivery', 'timeout'], v)),
    fc.constantFrom([], ['data-stream'], ['data-stream', 'windows']).map((v) => at(['spec', 'topics'], v)),
    fc.constantFrom([], ['kafka.big-data-pipeline.svc.cluster.local:9092']).map((v) => at(['spec', 'bootstrapServers'], v)),
    fc.constantFrom(1, 0, -2, 3).map((v) => at(['spec', 'consumers'], v)),
    fc.constantFrom('0', '4', '-1', 'many').map((v) => at(['metadata', 'annotations', `${E}max-scale`], v)),
    fc.constantFrom('100', '0', 'x').map((v) => at(['metadata', 'annotations', `${E}lag-threshold`], v)),
    fc.constantFrom(undefined, { uri: 'http://enrich.big-data-pipeline.svc.cluster.local' }, { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'enrich' } }, {}).map((v) => at(['spec', 'sink'], v)),
  ),
  PingSource: fc.oneof(
    fc.constantFrom('* * * * *', '*/5 * * * *', '@every 1m', 'every minute', '0 0 31 2 *').map((v) => at(['spec', 'schedule'], v)),
    fc.constantFrom('application/json', 'text/plain', undefined).map((v) => at(['spec', 'contentType'], v)),
    fc.constantFrom('{}', undefined).map((v) => at(['spec', 'data'], v)),
    fc.constantFrom(undefined, 'e30=').map((v) => at(['spec', 'dataBase64'], v)),
    fc.constantFrom('Europe/Berlin', 'Mars/Olympus', undefined).map((v) => at(['spec', 'timezone'], v)),
  ),
  KafkaSink: fc.oneof(
    fc.constantFrom('binary', 'structured', 'json').map((v) => at(['spec', 'contentMode'], v)),
    fc.constantFrom(1, 0, -1, 8).map((v) => at(['spec', 'numPartitions'], v)),
    fc.constantFrom(1, 0, 3).map((v) => at(['spec', 'replicationFactor'], v)),
    fc.constantFrom('dead-letters', '').map((v) => at(['spec', 'topic'], v)),
  ),
};

const variants = fc.integer({ min: 0, max: admissible.length - 1 }).chain((i) =>
  fc.array(EDITS[admissible[i]!.kind]!, { minLength: 1, maxLength: 3 }).map((edits) => {
    const object = structuredClone(admissible[i]!) as Record<string, any>;
    for (const edit of edits) edit(object);
    return object as K8sObject;
  }),
);

const CASES = 500;
const cases: AdmitCase[] = [
  ...admissible.map((object) => ({ id: `rendered-${objectId(object)}`, object })),
  ...production.map((object) => ({ id: `production-${objectId(object)}`, object })),
  // The webhook does look at the Secret mounts: one on a path it reserves is refused.
  { id: 'production-reserved-mount', object: reservedMount(production.find((o) => o.kind === 'Service')!) },
  ...generate(variants, CASES, 6).map((object, i) => ({ id: `admit-${i}`, object })),
];

function reservedMount(ksvc: K8sObject): K8sObject {
  const object = structuredClone(ksvc) as Record<string, any>;
  object['spec'].template.spec.containers[0].volumeMounts[0].mountPath = '/dev';
  return object as K8sObject;
}

type Check = (objects: K8sObject[]) => Problem[];
const manifestChecks: Check = (objects) => [...validateObjects(objects), ...crossCheck(objects, topics)];

/** Our verdict on one object, among the rendered ones it replaces: the checks pass and (unless left out) the topology model reads it. */
function accepted(object: K8sObject, check: Check = manifestChecks, model = true): boolean {
  const all = rendered.map((o) => (o.kind === object.kind && o.metadata.name === object.metadata.name ? object : o));
  if (check(all).some((p) => p.object === objectId(object))) return false;
  if (!model) return true;
  try {
    topologyOf(all);
    return true;
  } catch {
    return false;
  }
}

describe('(f) admission by the Knative webhooks', { timeout: 300_000 }, () => {
  let answers: Map<string, Answer>;
  beforeAll(async () => {
    answers = await runCheck<Answer>('knative', ['admit'], cases);
  }, 600_000);
  const admitted = (id: string) => {
    const a = answers.get(id)!;
    if (a.error) throw new Error(`${id}: ${a.error}`);
    return a.errors === null && a.denied === undefined;
  };

  it('every rendered Service, KafkaSource, PingSource and KafkaSink of knative/ is admitted', () => {
    // Only the Namespace is left to the API server: no object of knative/ goes unchecked.
    expect(rendered.filter((o) => !admissible.includes(o)).map(objectId)).toEqual(['Namespace/big-data-pipeline']);
    const refused = admissible.filter((o) => !admitted(`rendered-${objectId(o)}`)).map((o) => `${objectId(o)}: ${answers.get(`rendered-${objectId(o)}`)!.errors}`);
    expect(refused).toEqual([]);
  });

  it('every Service, KafkaSource, PingSource and KafkaSink of knative/overlays/production is admitted', () => {
    expect(production.map(objectId).sort()).toEqual(admissible.map(objectId).sort());
    const refused = production.filter((o) => !admitted(`production-${objectId(o)}`)).map((o) => `${objectId(o)}: ${answers.get(`production-${objectId(o)}`)!.errors}`);
    expect(refused).toEqual([]);
    expect(admitted('production-reserved-mount')).toBe(false);
  });

  it(`the manifest checks accept nothing the webhooks refuse, over ${CASES} generated variants`, () => {
    const generated = cases.filter((c) => c.id.startsWith('admit-'));
    const lenient = generated.filter((c) => accepted(c.object) && !admitted(c.id)).map((c) => `${c.id} ${objectId(c.object)}: refused by the webhook (${answers.get(c.id)!.errors}) but passed the manifest checks`);
    expect(lenient, report("admission", lenient, generated.length)).toEqual([]);
    // Both verdicts occur in numbers, so the property is not vacuous.
    expect(generated.filter((c) => !admitted(c.id)).length).toBeGreaterThan(50);
    expect(generated.filter((c) => accepted(c.object)).length).toBeGreaterThan(50);
  });

  it.each<[string, Check]>([
    ['no KafkaSource schema', (objects) => manifestChecks(objects).filter((p) => !p.object.startsWith('KafkaSource/'))],
    ['no checks on Services', (objects) => manifestChecks(objects).filter((p) => !p.object.startsWith('Service/'))],
  ])('catches weakened manifest checks: %s', (_what, check) => {
    const generated = cases.filter((c) => c.id.startsWith('admit-'));
    expect(generated.filter((c) => accepted(c.object, check, false) && !admitted(c.id)).length).toBeGreaterThan(0);
  });
});
