/**
 * `kubectl port-forward` as a child process: started, its local port learned from its
 * first line, stopped with the parent. kubectl is the tool here because it resolves a
 * Service to a ready pod and keeps the tunnel; client-node's PortForward works on one pod.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface PortForward {
  /** Resolves with the local port once kubectl listens. */
  ready: Promise<number>;
  stop(): void;
}

const children = new Set<ChildProcess>();
let exitHook = false;

export function portForward(options: {
  /** The kubectl binary (KUBECTL); kubectl on PATH by default. */
  kubectl?: string;
  kubectlArgs?: string[];
  namespace: string;
  /** svc/<name> or pod/<name> */
  target: string;
  remotePort: number;
  /** 0: kubectl picks a free one. */
  localPort?: number;
  /** Do not keep the process alive for it. */
  unref?: boolean;
}): PortForward {
  const kubectl = options.kubectl ?? 'kubectl';
  const args = [...(options.kubectlArgs ?? []), 'port-forward', '-n', options.namespace, options.target, `${options.localPort || ''}:${options.remotePort}`, '--address', '127.0.0.1'];
  const child = spawn(kubectl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  if (!exitHook) {
    exitHook = true;
    // A tunnel must not outlive the command that opened it.
    process.on('exit', () => {
      for (const c of children) c.kill();
    });
  }
  let stderr = '';
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new Error(`${kubectl} port-forward: ${error.message}`)));
    child.on('exit', (code) => {
      children.delete(child);
      reject(new Error(`${kubectl} ${args.join(' ')} exited (${code ?? 'signal'}): ${stderr.trim() || 'no output'}`));
    });
  });
  ready.catch(() => undefined);
  if (options.unref) {
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }
  return {
    ready,
    stop: () => {
      children.delete(child);
      child.kill();
    },
  };
}
