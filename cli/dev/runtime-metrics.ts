/**
 * The local runtime's scaling, as Prometheus metrics. Two kinds:
 * - KEDA's own series (kedacore/keda v2.20.2 pkg/metricscollector/prommetrics.go), with its
 *   names and labels, so a panel or rule written for the cluster's keda-operator job reads the
 *   emulation the same way: keda_scaler_metrics_value (the metric handed to the HPA) and
 *   keda_scaler_active, labelled namespace, scaledObject, scaler, triggerIndex, metric, type.
 * - What only the emulation can say, as bdp_dev_*: vreplicas, consumers, dispatcher pods,
 *   instances and the targets they are sized by. A cluster exports none of these (no
 *   kube-state-metrics; the ConsumerGroup's replicas are not a metric).
 */
import { Gauge, Registry } from 'prom-client';
import type { KafkaSourceSpec } from '../manifests/index.ts';
import type { DevRuntime } from './runtime.ts';

/** kedautil.NormalizeString: what KEDA replaces with '-' in a metric name. */
function normalize(name: string): string {
  return name.replace(/[/.:%()]/g, '-');
}

/**
 * The trigger's metric name (kafka_scaler.go GetMetricSpecForScaling with GenerateMetricNameWithIndex):
 * s0-kafka-<topic> for a trigger on one topic, s0-kafka-<group>-topics for one on all of the group's.
 */
export function kedaMetricName(source: Pick<KafkaSourceSpec, 'topics' | 'consumerGroup'>): string {
  return `s0-${normalize(source.topics.length === 1 ? `kafka-${source.topics[0]}` : `kafka-${source.consumerGroup}-topics`)}`;
}

/**
 * The ScaledObject's name. On a cluster it is so-<ConsumerGroup UID> (eventing-kafka-broker
 * GenerateScaledObjectName), which no dashboard can know in advance: panels select by `metric`.
 */
export function scaledObjectName(source: Pick<KafkaSourceSpec, 'name'>): string {
  return `so-${source.name}`;
}

export function runtimeMetrics(runtime: DevRuntime): Registry {
  const registry = new Registry();
  const namespace = runtime.topology.namespace;
  const sources = runtime.topology.kafkaSources;
  const kedaLabels = ['namespace', 'metric', 'scaledObject', 'scaler', 'triggerIndex', 'type'] as const;
  const kedaOf = (s: KafkaSourceSpec) => ({ namespace, metric: kedaMetricName(s), scaledObject: scaledObjectName(s), scaler: 'kafkaScaler', triggerIndex: '0', type: 'scaledobject' });

  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect(this);
      },
    });

  gauge('keda_scaler_metrics_value', "The current value for each scaler's metric that would be used by the HPA in computing the target average.", kedaLabels, (g) => {
    for (const s of sources) {
      const value = runtime.scaling.scalers.get(s.name)?.lastMetric;
      if (s.autoscaled && value !== undefined) g.set(kedaOf(s), value);
    }
  });
  gauge('keda_scaler_active', 'Indicates whether a scaler is active (1), or not (0).', kedaLabels, (g) => {
    for (const s of sources) {
      const active = runtime.scaling.scalers.get(s.name)?.lastActive;
      if (s.autoscaled && active !== undefined) g.set(kedaOf(s), active ? 1 : 0);
    }
  });

  const sourceLabels = ['source', 'consumergroup', 'sink'] as const;
  const perSource = (name: string, help: string, value: (s: KafkaSourceSpec) => number | undefined) =>
    gauge(name, help, sourceLabels, (g) => {
      for (const s of sources) {
        const v = value(s);
        if (v !== undefined) g.set({ source: s.name, consumergroup: s.consumerGroup, sink: s.sink }, v);
      }
    });
  perSource('bdp_dev_source_lag', "The source's consumer-group lag, summed over its partitions, as the emulated KEDA last read it.", (s) => runtime.scaling.stateOf(s).lag);
  perSource('bdp_dev_source_vreplicas', "The ConsumerGroup's vreplicas (KEDA and the HPA; spec.consumers when not autoscaled).", (s) => runtime.scaling.placement.vreplicasOf(s.name));
  perSource('bdp_dev_source_dispatcher_pods', 'The dispatcher pods the source is placed on: one Kafka consumer each.', (s) => runtime.scaling.podsOf(s.name).length);
  perSource('bdp_dev_source_consumers', "Members of the source's consumer group, as Kafka reports them.", (s) => runtime.scaling.stateOf(s).members);
  perSource('bdp_dev_source_lag_threshold', "The ScaledObject's lagThreshold: the HPA's target average lag per vreplica.", (s) => (s.autoscaled ? s.scaling.lagThreshold : undefined));
  perSource('bdp_dev_source_max_scale', "The ScaledObject's maxReplicaCount.", (s) => (s.autoscaled ? s.scaling.maxScale : undefined));
  perSource('bdp_dev_source_in_flight', 'Deliveries awaiting an answer from the sink.', (s) => runtime.dispatchers.get(s.name)?.stats.inFlight);

  gauge('bdp_dev_dispatcher_pods', 'Pods of the kafka-source-dispatcher StatefulSet.', [], (g) => g.set(runtime.scaling.placement.replicas));

  const serviceLabels = ['knative_service'] as const;
  const perService = (name: string, help: string, value: (service: string) => number | undefined) =>
    gauge(name, help, serviceLabels, (g) => {
      for (const service of runtime.pools.keys()) {
        const v = value(service);
        if (v !== undefined) g.set({ knative_service: service }, v);
      }
    });
  perService('bdp_dev_service_instances', 'Function processes started and not retiring (the KPA counts them as pods).', (n) => runtime.pools.get(n)!.live);
  perService('bdp_dev_service_desired', 'Instances the KPA wants.', (n) => runtime.pools.get(n)!.desired);
  perService('bdp_dev_service_in_flight', 'Requests in flight to the service, including those the activator holds.', (n) => runtime.pools.get(n)!.inFlight);
  perService('bdp_dev_service_kpa_target', "The KPA's target in-flight requests per pod (target × utilization).", (n) => runtime.kpas.get(n)?.decider.targetValue);
  perService('bdp_dev_service_max_scale', "The revision's max-scale.", (n) => runtime.pools.get(n)!.options.maxInstances);

  return registry;
}
