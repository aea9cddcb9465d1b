import { loadConfig } from '../shared/config.ts';
import { esClientFor } from '../shared/elasticsearch.ts';
import { serve, start } from '../shared/main.ts';
import { createDashboardMetrics } from './metrics.ts';
import { build, configSchema } from './app.ts';

start(async () => {
  const config = loadConfig(configSchema);
  const metrics = createDashboardMetrics({ pod: config.POD_NAME });
  await serve(build(config, { es: esClientFor(config), metrics }), config);
});
