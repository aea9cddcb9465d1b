import { loadConfig } from '../../shared/config.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { producerFor } from '../../shared/kafka.ts';
import { serve, start } from '../../shared/main.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { build, configSchema } from './app.ts';

start(async () => {
  const config = loadConfig(configSchema);
  const metrics = createMetrics({ function: 'index', revision: config.K_REVISION, pod: config.POD_NAME });
  const es = esClientFor(config);
  const producer = producerFor('index', config, metrics);
  await serve(build(config, { es, producer, metrics }), config);
});
