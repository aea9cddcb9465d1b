/**
 * The real Host: local commands (kubectl, docker or podman, kind, minikube) and files.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ClusterError, type Host, type RunResult } from './steps.ts';

export function onPath(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function runCommand(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: stderr + error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * docker or podman, whichever has a running engine (`preferred` is tried first). A docker
 * CLI without a reachable daemon does not count: the build would fail later and less clearly.
 */
export async function detectContainerTool(
  has: (command: string) => Promise<boolean> | boolean,
  run: (command: string, args: string[]) => Promise<RunResult>,
  preferred: string | undefined,
): Promise<{ tool: 'docker' | 'podman' } | { tool: undefined; why: string }> {
  const candidates = (preferred === 'podman' ? ['podman', 'docker'] : ['docker', 'podman']) as ('docker' | 'podman')[];
  const reasons: string[] = [];
  for (const tool of candidates) {
    if (!(await has(tool))) {
      reasons.push(`${tool} is not installed`);
      continue;
    }
    const result = await run(tool, ['info', '--format', tool === 'docker' ? '{{.ServerVersion}}' : '{{.Version.Version}}']);
    if (result.code === 0) return { tool };
    reasons.push(`${tool} is installed but its engine does not answer (${(result.stderr || result.stdout).trim().split('\n')[0] ?? ''})`);
  }
  return {
    tool: undefined,
    why: `no container engine to build the function images: ${reasons.join('; ')}. Install and start Docker or Podman, or run make deploy on a machine that has one.`,
  };
}

/** GET a URL's body: a network failure or a 5xx may pass (retryable), any other non-2xx is final. */
export async function fetchText(url: string, timeoutMs = 60_000): Promise<string> {
  let answer: Response;
  try {
    answer = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (error) {
    throw new ClusterError(`GET ${url}: ${(error as Error).message}`, true);
  }
  if (!answer.ok) throw new ClusterError(`GET ${url}: ${answer.status} ${answer.statusText}`, answer.status >= 500 || answer.status === 429);
  return answer.text();
}

export class LocalHost implements Host {
  /** `preferredTool`: CONTAINER_TOOL, docker or podman. */
  constructor(
    private readonly root: string,
    private readonly preferredTool?: string,
  ) {}

  async has(command: string): Promise<boolean> {
    return onPath(command);
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  run(command: string, args: string[], options: { env?: Record<string, string> } = {}): Promise<RunResult> {
    return runCommand(command, args, { cwd: this.root, ...options });
  }

  fetchText(url: string): Promise<string> {
    return fetchText(url);
  }

  containerTool() {
    return detectContainerTool(onPath, (command, args) => this.run(command, args), this.preferredTool);
  }

  log(line: string): void {
    console.log(line);
  }
}
