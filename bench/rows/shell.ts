/**
 * Row 1: what the CloudEvents shell costs per request. The subject is the shell with one
 * route that answers at once, validating a real shop event against RawEventSchema; the
 * baseline is a bare Fastify JSON echo. Both are bundled by esbuild with build.mjs's
 * settings (what an image runs: no tsx, no loader in the hot path), run as child processes
 * with the same logger level, and get the same loopback load and the same JSON bodies.
 */
import type { BenchRow } from '../lib/context.ts';
import { type HttpBody, CpuMeter, alternate, drive } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import { BARE_FASTIFY, type Run, type Spawned, binary, bundles, failures, freshRawEvents, measured, spawnOnFreePort, thousands } from '../lib/fixtures.ts';
import { shopEvent } from '../../shared/events.ts';

const CONCURRENCY = 100;
const REQUESTS = 20_000;
const WARMUP = 5_000;

const SHELL_SERVER = `
import { createCloudEventServer, route } from './shared/server.ts';
import { createMetrics } from './shared/metrics.ts';
import { RawEventSchema } from './shared/schemas.ts';
import { CeType } from './shared/ce-types.ts';
const app = createCloudEventServer({
  name: 'bench-shell',
  metrics: createMetrics({ function: 'bench-shell' }),
  logLevel: 'warn',
  routes: [route({ types: [CeType.shopEvent], schema: RawEventSchema, handle: async () => undefined })],
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
`;

export const shellRow: BenchRow = {
  ids: ['1'],
  async run(ctx) {
    const events = freshRawEvents('shell', REQUESTS);
    const subjectBodies = events.map((e) => binary(shopEvent(e)));
    const baselineBodies: HttpBody[] = events.map((e) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) }));
    const built = await bundles(ctx.root, { shell: SHELL_SERVER, fastify: BARE_FASTIFY });
    const started: Spawned[] = [];
    const problems: string[] = [];
    try {
      const shell = await spawnOnFreePort([built.paths['shell']!], [0, 2, 4].map((i) => ctx.basePort + i));
      started.push(shell);
      const bare = await spawnOnFreePort([built.paths['fastify']!], [1, 3, 5].map((i) => ctx.basePort + i));
      started.push(bare);

      const run = (name: string, port: number, pid: number | undefined, bodies: HttpBody[]) => async (round: number): Promise<Run> => {
        const load = round < 0 ? bodies.slice(0, WARMUP) : bodies;
        const meter = new CpuMeter(() => ({ server: pid, 'load generator': process.pid }));
        meter.start();
        const result = await drive(port, load, CONCURRENCY);
        const cpu = meter.stop(load.length);
        const failed = failures(result.statuses);
        if (failed) problems.push(`${name} round ${round}: ${failed}`);
        ctx.log(`${name}${round < 0 ? ' (warm-up)' : ''}: ${thousands(result.perSecond)} req/s`);
        return { perSecond: result.perSecond, cpu };
      };
      const runs = await alternate(
        ctx.rounds,
        run('shell', shell.port, shell.child.pid, subjectBodies),
        run('bare Fastify', bare.port, bare.child.pid, baselineBodies),
        ctx.log,
      );

      const subject = measured('CloudEvents shell: binary CE POST → validated → 2xx', runs.subject, 'req/s');
      const baseline = measured('bare Fastify JSON POST echo', runs.baseline, 'req/s');
      const ratio = subject.value.median / baseline.value.median;
      const cpuOf = (m: typeof subject) => (m.cpuPerEvent?.['server'] ?? NaN).toFixed(0);
      return [
        {
          id: '1',
          title: 'CloudEvents shell: binary CE POST → validated → 2xx, no downstream',
          subject,
          baseline,
          ratio,
          ratioMeaning: 'requests/s through the shell (CloudEvent parsing, attribute checks, schema validation of data, metrics) ÷ requests/s of a bare Fastify JSON echo, same process setup and load',
          target: { text: '≥ 0.80×', met: ratio >= 0.8 && problems.length === 0 },
          notes: [
            `${thousands(REQUESTS)} requests per round, ${CONCURRENCY} concurrent over loopback keep-alive; both servers are esbuild bundles with build.mjs's settings run by plain node (what an image runs), logger at warn.`,
            `Server CPU per request: shell ${cpuOf(subject)} µs, bare Fastify ${cpuOf(baseline)} µs (${(Number(cpuOf(baseline)) / Number(cpuOf(subject))).toFixed(2)}× as a CPU ratio). On a small machine the load generator shares the cores, which pulls the req/s ratio toward 1; the CPU ratio is what the shell costs. Nothing downstream, so no Kafka or Elasticsearch CPU.`,
            ...(problems.length ? [`Requests that failed (measurement not valid): ${problems.join('; ')}.`] : []),
          ],
          details: { requestsPerRound: REQUESTS, concurrency: CONCURRENCY, bodyBytes: Buffer.byteLength(baselineBodies[0]!.body) },
        },
      ];
    } finally {
      for (const { child } of started) await terminate(child);
      built.remove();
    }
  },
};
