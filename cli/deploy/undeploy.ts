/**
 * `make undeploy` as a pure plan: the pipeline's sources first (no new events, and their
 * consumer groups deleted while Kafka still runs), then the functions, the platform, the
 * generated Secrets and the namespace; Knative and KEDA too with ALL=1.
 */
import type { K8sObject } from '../manifests/index.ts';
import type { Release } from '../manifests/releases.ts';
import { isKafkaSource, isNamespace, isPingSource } from './objects.ts';
import { type PlatformInput, PlanError, type Timeouts, defaultTimeouts } from './plan.ts';
import { generatedSecrets } from './secrets.ts';
import { type Action, type ObjectRef, type Step, type StepKind, refOf } from './steps.ts';

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
