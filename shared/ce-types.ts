/**
 * CloudEvent types of the pipeline, reverse-DNS and versioned. The README lists them
 * with a curl line each; every function, the generator and the tests use these constants.
 */
export const CeType = {
  generateRequest: 'dev.bigdatapipeline.generate.request.v1',
  shopEvent: 'dev.bigdatapipeline.shop.event.v1',
  enrichedEvent: 'dev.bigdatapipeline.shop.event.enriched.v1',
  windowTouched: 'dev.bigdatapipeline.window.touched.v1',
  /** Sent by a Knative PingSource: the per-minute generation tick and the finalize tick. */
  ping: 'dev.knative.sources.ping',
  /** Given by a KafkaSource to a Kafka record that is not itself a CloudEvent. */
  kafkaRecord: 'dev.knative.kafka.event',
} as const;

export const CeSource = {
  generate: '/big-data-pipeline/generate',
  enrich: '/big-data-pipeline/enrich',
  index: '/big-data-pipeline/index',
} as const;
