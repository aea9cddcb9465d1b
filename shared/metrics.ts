/**
 * Prometheus metrics of one function. Every series carries `function`, `revision` and `pod`
 * (`pod`: POD_NAME, else the host name, which in Kubernetes is the pod's name; `revision`:
 * Knative's K_REVISION) so Grafana can line stages and pods up.
 */
import { hostname } from 'node:os';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricLabels {
  function: string;
  revision?: string | undefined;
  pod?: string | undefined;
}

export function createMetrics(labels: MetricLabels) {
  const registry = new Registry();
  registry.setDefaultLabels({
    function: labels.function,
    revision: labels.revision ?? 'local',
    pod: labels.pod ?? hostname(),
  });
  collectDefaultMetrics({ register: registry });

  const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    eventsIn: new Counter({
      name: 'pipeline_events_in_total',
      help: 'CloudEvents received, by type and outcome (ok, bad_request, unavailable, error).',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    eventsOut: new Counter({
      name: 'pipeline_events_out_total',
      help: 'Records written downstream, by destination (Kafka topic or Elasticsearch index).',
      labelNames: ['destination'],
      registers: [registry],
    }),
    handlerDuration: new Histogram({
      name: 'pipeline_handler_duration_seconds',
      help: 'Time from request to answer, by CloudEvent type and status code.',
      labelNames: ['type', 'status'],
      buckets: seconds,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'pipeline_batch_size',
      help: 'Items per flushed micro-batch, by batcher.',
      labelNames: ['batcher'],
      buckets: [1, 2, 5, 10, 20, 35, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    kafkaProduceDuration: new Histogram({
      name: 'pipeline_kafka_produce_duration_seconds',
      help: 'Duration of one Kafka sendBatch (acks from all in-sync replicas).',
      buckets: seconds,
      registers: [registry],
    }),
    esBulkDuration: new Histogram({
      name: 'pipeline_es_bulk_duration_seconds',
      help: 'Duration of one Elasticsearch bulk request.',
      buckets: seconds,
      registers: [registry],
    }),
    lateEvents: new Counter({
      name: 'pipeline_late_events_total',
      help: 'Events indexed into a window that was already final.',
      registers: [registry],
    }),
    recomputes: new Counter({
      name: 'pipeline_window_recomputes_total',
      help: 'Window recomputations, by trigger (touched, finalize).',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    windowsFinalized: new Counter({
      name: 'pipeline_windows_finalized_total',
      help: 'Windows whose final counts were recorded.',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
