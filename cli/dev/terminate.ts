import type { ChildProcess } from 'node:child_process';
import { POD_DEFAULTS } from '../scaling/defaults.ts';

/** Stops a process as the kubelet stops a container: SIGTERM (it drains), then SIGKILL after the grace period. */
export function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), POD_DEFAULTS.terminationGracePeriodMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
