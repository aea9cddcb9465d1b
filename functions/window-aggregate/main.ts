import { esClientFor } from '../../shared/elasticsearch.ts';
import { adminFor } from '../../shared/kafka.ts';
import { runFunction } from '../../shared/main.ts';
import { build, configSchema } from './app.ts';

runFunction('window-aggregate', configSchema, (config, metrics) =>
  build(config, { es: esClientFor(config), admin: adminFor('window-aggregate', config), metrics }),
);
