/** A long-lived web app beside the functions (the dashboard): one process, not a pool; replaced if it dies. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { terminate } from './terminate.ts';

export interface WebAppOptions {
  name: string;
  entry: string;
  port: number;
  env: Record<string, string>;
  logDir: string;
  onEvent: (message: string) => void;
}

export class WebApp {
  #child: ChildProcess | undefined;
  #stopped = false;

  constructor(private readonly options: WebAppOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  start(): void {
    if (this.#stopped) return;
    const { name, entry, port, env, logDir } = this.options;
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', POD_NAME: `${name}-0` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.#child = child;
    // 'close', not 'exit': the log is ended only after the child's output has been read.
    child.once('close', (code, signal) => {
      log.end();
      if (this.#stopped) return;
      this.options.onEvent(`${name} exited (${signal ?? code}); starting a replacement`);
      // A pause, so a process that cannot start (port taken) does not spin.
      setTimeout(() => this.start(), 1000).unref();
    });
  }

  /** From now on an exit is not replaced (Ctrl-C reaches the child too). */
  markStopping(): void {
    this.#stopped = true;
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return this.#child ? terminate(this.#child) : Promise.resolve();
  }
}
