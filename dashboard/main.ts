import { esClientFor } from '../shared/elasticsearch.ts';
import { runApp } from '../shared/main.ts';
import { type Config, build, configSchema } from './app.ts';
import { createDashboardMetrics } from './metrics.ts';
import type { PageAssets } from './page.ts';
import { ClusterStages } from './stages/cluster.ts';
import { LocalStages } from './stages/local.ts';
import { type StageReader, noStages } from './stages/types.ts';

/** The page's script and style, put into this bundle by build.mjs (browser/bundle.mjs). */
declare const PAGE_ASSETS: PageAssets | undefined;

function stagesOf(config: Config): StageReader {
  if (config.RUNTIME_STATE_FILE) return new LocalStages(config.RUNTIME_STATE_FILE);
  if (config.PROMETHEUS_URL) return new ClusterStages({ prometheusUrl: config.PROMETHEUS_URL, namespace: config.PIPELINE_NAMESPACE, timeoutMs: 5000 });
  return noStages;
}

runApp(configSchema, (config) => {
  if (typeof PAGE_ASSETS === 'undefined') throw new Error('the dashboard runs from its bundle (node build.mjs: dist/dashboard/index.mjs), which carries the page script');
  return build(config, { es: esClientFor(config), assets: PAGE_ASSETS, stages: stagesOf(config), metrics: createDashboardMetrics({ pod: config.POD_NAME }) });
});
