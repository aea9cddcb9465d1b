import { producerFor } from '../../shared/kafka.ts';
import { runFunction } from '../../shared/main.ts';
import { build, configSchema } from './app.ts';

runFunction('generate', configSchema, (config, metrics) => build(config, { producer: producerFor('generate', config, metrics), metrics }));
