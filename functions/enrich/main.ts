import { producerFor } from '../../shared/kafka.ts';
import { runFunction } from '../../shared/main.ts';
import { build, configSchema } from './app.ts';

runFunction('enrich', configSchema, (config, metrics) => build(config, { producer: producerFor('enrich', config, metrics), metrics }));
