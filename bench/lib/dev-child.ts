/**
 * The `make dev` topology (cli/dev/runtime.ts) as a process of its own on the bench's Kafka
 * and Elasticsearch, with every topic, consumer group and index suffixed, until SIGTERM.
 * Its CPU is the dispatchers' and the runtime's; the functions are its child processes.
 * Options come as JSON in BENCH_DEV (see PipelineSession).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DevRuntime } from '../../cli/dev/runtime.ts';

const options = JSON.parse(process.env['BENCH_DEV'] ?? '{}') as {
  suffix: string;
  basePort: number;
  stateDir: string;
  kafkaBrokers: string;
  elasticsearchUrl: string;
  env: Record<string, string>;
  nodeArgs?: string[];
};
mkdirSync(join(options.stateDir, 'logs'), { recursive: true });
const runtimeLog = join(options.stateDir, 'logs', 'runtime.log');
const runtime = new DevRuntime({
  log: (message) => appendFileSync(runtimeLog, `${new Date().toISOString()} ${message}\n`),
  root: resolve(import.meta.dirname, '../..'),
  kafkaBrokers: options.kafkaBrokers,
  elasticsearchUrl: options.elasticsearchUrl,
  basePort: options.basePort,
  stateDir: options.stateDir,
  isolate: options.suffix,
  pings: false,
  env: options.env,
  ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
});
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void runtime.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
await runtime.start();
