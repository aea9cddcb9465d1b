/**
 * The local stand-in for a Knative Service: a pool of function processes (the esbuild
 * bundle), each on its own port. Requests go to the least busy ready instance; in-flight
 * counts feed the KPA emulation; a pool at zero starts an instance on the first request
 * and holds the request meanwhile, as Knative's activator does. A process that dies is
 * replaced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { SERVING_DEFAULTS } from '../scaling/defaults.ts';
import { terminate } from './terminate.ts';

export interface PoolOptions {
  name: string;
  /** Entry point of the bundle. */
  entry: string;
  env: Record<string, string>;
  /** The service's own address (like a ksvc URL) is basePort; instance i listens on basePort + 1 + i. */
  basePort: number;
  maxInstances: number;
  logDir: string;
  /** Extra node options for every instance (e.g. --cpu-prof). */
  nodeArgs?: string[];
  onEvent?: (message: string) => void;
}

export interface Instance {
  id: number;
  port: number;
  process: ChildProcess;
  /** Keep-alive connections to the instance (undici: half the CPU of node:http per request, the runtime's busiest work). */
  client: Pool;
  ready: boolean;
  inFlight: number;
  /** Set when the pool itself stops it (scale-down): not a crash. */
  retiring: boolean;
  started: number;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

export class FunctionPool {
  readonly instances = new Map<number, Instance>();
  #desired = 0;
  #stopped = false;
  #waiters: (() => void)[] = [];
  #log: WriteStream;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });
  #front: Server | undefined;
  restarts = 0;
  requests = 0;

  constructor(readonly options: PoolOptions) {
    mkdirSync(options.logDir, { recursive: true });
    this.#log = createWriteStream(`${options.logDir}/${options.name}.log`, { flags: 'a' });
  }

  get desired(): number {
    return this.#desired;
  }

  /** Instances started and not retiring: what the KPA counts as the service's pods. */
  get live(): number {
    let n = 0;
    for (const i of this.instances.values()) if (!i.retiring) n++;
    return n;
  }

  get ready(): Instance[] {
    return [...this.instances.values()].filter((i) => i.ready && !i.retiring);
  }

  get inFlight(): number {
    let sum = 0;
    for (const i of this.instances.values()) sum += i.inFlight;
    return sum + this.#waiters.length;
  }

  /** Scales to `count` instances: starts missing ones, retires idle surplus ones. */
  scaleTo(count: number): void {
    if (this.#stopped) return;
    this.#desired = Math.max(0, Math.min(count, this.options.maxInstances));
    const live = [...this.instances.values()].filter((i) => !i.retiring);
    for (let n = live.length; n < this.#desired; n++) this.#start();
    if (live.length > this.#desired) {
      // Retire the newest first; each finishes its in-flight requests (SIGTERM drains).
      for (const instance of live.sort((a, b) => b.started - a.started).slice(0, live.length - this.#desired)) this.#retire(instance);
    }
  }

  /** POSTs to the least busy ready instance, starting one first if the pool is at zero. */
  async post(headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<HttpAnswer> {
    this.requests++;
    const instance = await this.#pick();
    instance.inFlight++;
    try {
      return await this.#send(instance.client, headers, body, timeoutMs);
    } finally {
      instance.inFlight--;
    }
  }

  /**
   * The stable address of the service, as a Knative route: forwards POST / to an instance
   * (starting one if the pool is at zero) and answers with the instance's answer.
   */
  listen(): Promise<void> {
    this.#front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'POST CloudEvents to /' }));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined && name !== 'host' && name !== 'connection' && name !== 'content-length') headers[name] = Array.isArray(value) ? value.join(',') : value;
        }
        // A route waits as long as a revision's default timeoutSeconds.
        this.post(headers, Buffer.concat(chunks), SERVING_DEFAULTS.timeoutSeconds * 1000).then(
          (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body),
          (error: Error) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message })),
        );
      });
    });
    return new Promise((resolve, reject) => {
      this.#front!.once('error', reject);
      this.#front!.listen(this.options.basePort, '127.0.0.1', () => resolve());
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.basePort}`;
  }

  /**
   * From now on an exiting instance is not replaced. Called first on shutdown: Ctrl-C reaches
   * the function processes too, and they must not be restarted while they drain.
   */
  markStopping(): void {
    this.#stopped = true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#front?.close();
    const exits = [...this.instances.values()].map((i) => this.#retire(i));
    await Promise.all(exits);
    this.#agent.destroy();
    this.#log.end();
  }

  /** Ports of ready instances (for watch and for people). */
  ports(): number[] {
    return this.ready.map((i) => i.port);
  }

  async #pick(): Promise<Instance> {
    for (;;) {
      const ready = this.ready;
      if (ready.length > 0) return ready.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (this.#stopped) throw new Error(`${this.options.name} is stopped`);
      // Activator: a request to a pool at zero brings up one instance.
      if (this.#desired === 0) this.scaleTo(1);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #freePortId(): number {
    for (let id = 0; ; id++) if (!this.instances.has(id)) return id;
  }

  #start(): Instance {
    const id = this.#freePortId();
    const port = this.options.basePort + 1 + id;
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), '--enable-source-maps', this.options.entry], {
      env: { ...process.env, ...this.options.env, PORT: String(port), HOST: '127.0.0.1', POD_NAME: `${this.options.name}-${id}`, K_SERVICE: this.options.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.#log.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#log.write(chunk));
    const instance: Instance = { id, port, process: child, client: new Pool(`http://127.0.0.1:${port}`, { connections: 256 }), ready: false, inFlight: 0, retiring: false, started: Date.now() };
    this.instances.set(id, instance);
    child.once('exit', (code, signal) => {
      this.instances.delete(id);
      void instance.client.destroy();
      if (!instance.retiring && !this.#stopped) {
        this.restarts++;
        this.options.onEvent?.(`${this.options.name}-${id} exited (${signal ?? code}); starting a replacement`);
        this.scaleTo(this.#desired);
      }
    });
    void this.#waitReady(instance);
    return instance;
  }

  async #waitReady(instance: Instance): Promise<void> {
    for (let attempt = 0; attempt < 300 && !instance.retiring && this.instances.has(instance.id); attempt++) {
      const answer = await this.#get(instance.port, '/health/readiness').catch(() => undefined);
      if (answer === 200) {
        instance.ready = true;
        const waiters = this.#waiters.splice(0);
        for (const wake of waiters) wake();
        return;
      }
      await sleep(100);
    }
  }

  #retire(instance: Instance): Promise<void> {
    instance.retiring = true;
    instance.ready = false;
    return terminate(instance.process);
  }

  #get(port: number, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: this.#agent, timeout: 1000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** One POST; the answer must come within `timeoutMs` (the delivery timeout: functions answer once the work is done). */
  async #send(client: Pool, headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<HttpAnswer> {
    try {
      const res = await client.request({ path: '/', method: 'POST', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') throw new Error(`no answer within ${timeoutMs} ms`);
      throw error;
    }
  }
}
