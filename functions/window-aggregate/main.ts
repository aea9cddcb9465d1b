import { brokersOf, loadConfig } from '../../shared/config.ts';
import { createKafka } from '../../shared/kafka.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { serve, start } from '../../shared/main.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { build, configSchema } from './app.ts';

start(async () => {
  const config = loadConfig(configSchema);
  const metrics = createMetrics({ function: 'window-aggregate', revision: config.K_REVISION, pod: config.POD_NAME });
  const es = esClientFor(config);
  const admin = config.KAFKA_BROKERS
    ? createKafka({ brokers: brokersOf(config.KAFKA_BROKERS), clientId: 'window-aggregate' }).admin()
    : undefined;
  await serve(build(config, { es, admin, metrics }), config);
});
