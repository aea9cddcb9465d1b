import { esClientFor } from '../shared/elasticsearch.ts';
import { runApp } from '../shared/main.ts';
import { createDashboardMetrics } from './metrics.ts';
import { build, configSchema } from './app.ts';

runApp(configSchema, (config) => build(config, { es: esClientFor(config), metrics: createDashboardMetrics({ pod: config.POD_NAME }) }));
