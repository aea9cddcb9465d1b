import { esClientFor } from '../../shared/elasticsearch.ts';
import { producerFor } from '../../shared/kafka.ts';
import { runFunction } from '../../shared/main.ts';
import { build, configSchema } from './app.ts';

runFunction('index', configSchema, (config, metrics) =>
  build(config, { es: esClientFor(config), producer: producerFor('index', config, metrics), metrics }),
);
