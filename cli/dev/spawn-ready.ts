import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
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

/**
 * Spawns a server binary (Prometheus, an exporter) with its output appended to `logFile`, and
 * resolves once GET readinessPath on 127.0.0.1:port answers 200.
 */
export async function spawnServer(command: string, args: string[], port: number, readinessPath: string, logFile: string, options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<ChildProcess> {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  while (performance.now() < deadline) {
    const status = await probe(port, readinessPath, 500).catch(() => 0);
    if (status === 200) return child;
    if (child.exitCode !== null) throw new Error(`${command} exited with code ${child.exitCode} before it was ready on port ${port} (log: ${logFile})`);
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${command} did not become ready on port ${port} (log: ${logFile})`);
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
