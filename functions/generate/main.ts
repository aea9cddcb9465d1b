import { loadConfig } from '../../shared/config.ts';
import { producerFor } from '../../shared/kafka.ts';
import { serve, start } from '../../shared/main.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { build, configSchema } from './app.ts';

start(async () => {
  const config = loadConfig(configSchema);
  const metrics = createMetrics({ function: 'generate', revision: config.K_REVISION, pod: config.POD_NAME });
  const producer = producerFor('generate', config, metrics);
  await serve(build(config, { producer, metrics }), config);
});
