import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spawns a Node program on 127.0.0.1:port and resolves once GET readinessPath answers 200,
 * as a kubelet's readiness probe would let traffic in; the program's stderr is passed through.
 */
export async function spawnReady(
  args: string[],
  port: number,
  env: Record<string, string> = {},
  readinessPath = '/health/readiness',
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; readyMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = started + timeoutMs;
  while (performance.now() < deadline) {
    const status = await probe(port, readinessPath, 500).catch(() => 0);
    if (status === 200) return { child, readyMs: performance.now() - started };
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with code ${child.exitCode} before it was ready on port ${port}`);
    await sleep(5);
  }
  child.kill('SIGKILL');
  throw new Error(`${args.join(' ')} did not become ready on port ${port} within ${timeoutMs} ms`);
}

/** The status of GET `path` on 127.0.0.1:port. */
function probe(port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
