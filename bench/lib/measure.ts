/**
 * What every benchmark row measures with: CPU and memory of processes from /proc, load
 * driven over HTTP, rounds that alternate subject and baseline after a warm-up, and medians
 * with their spread. Nothing here asserts a time: a row reports numbers and ratios, and the
 * report says whether a target was met.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

/**
 * User + system CPU seconds a process has used so far (Linux /proc), or undefined; with
 * `children`, also what its waited-for child processes used (a JVM forking chmod, say).
 */
export function cpuSeconds(pid: number | undefined, children = false): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime (then cutime, cstime) in clock ticks of 1/100 s
    return (Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0)) / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MiB (VmRSS), or undefined. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU spent by named processes between start() and stop(), in µs per unit of work. */
export class CpuMeter {
  #before = new Map<string, number>();

  constructor(private readonly pids: () => Record<string, number | number[] | undefined>) {}

  #now(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, pid] of Object.entries(this.pids())) {
      const list = Array.isArray(pid) ? pid : [pid];
      let sum = 0;
      let seen = false;
      for (const p of list) {
        const s = cpuSeconds(p);
        if (s !== undefined) {
          sum += s;
          seen = true;
        }
      }
      if (seen) out.set(name, sum);
    }
    return out;
  }

  start(): void {
    this.#before = this.#now();
  }

  /** µs of CPU per unit (event) for each process measured at both ends. */
  stop(units: number): Record<string, number> {
    const after = this.#now();
    const out: Record<string, number> = {};
    for (const [name, s] of after) {
      const b = this.#before.get(name);
      if (b !== undefined) out[name] = ((s - b) / units) * 1e6;
    }
    return out;
  }
}

export const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

export interface HttpBody {
  headers: Record<string, string>;
  body: string;
}

export function post(port: number, message: HttpBody, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...message.headers, 'content-length': Buffer.byteLength(message.body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(message.body);
  });
}

/**
 * Items [0, count) in slices of `size`, `lanes` slices in flight at once: each lane takes the
 * next slice as soon as its last one is done.
 */
export async function inLanes(count: number, size: number, lanes: number, send: (from: number, to: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, Math.ceil(count / size)) }, async () => {
      while (next < count) {
        const from = next;
        next = Math.min(next + size, count);
        await send(from, next);
      }
    }),
  );
}

/** Posts every message with `concurrency` in flight to 127.0.0.1:port; statuses counted, events/s over the whole run. */
export async function drive(port: number, messages: readonly HttpBody[], concurrency: number): Promise<{ perSecond: number; seconds: number; statuses: Record<number, number> }> {
  const statuses: Record<number, number> = {};
  const started = performance.now();
  await inLanes(messages.length, 1, concurrency, async (i) => {
    const status = await post(port, messages[i]!);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: messages.length / seconds, seconds, statuses };
}


export interface Stats {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median. */
  spread: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, spread: median === 0 ? 0 : (s[s.length - 1]! - s[0]!) / median, samples };
}

/** Median of each key over several records (keys present in every record). */
export function medianOf(records: Record<string, number>[]): Record<string, number> {
  const keys = Object.keys(records[0] ?? {}).filter((k) => records.every((r) => r[k] !== undefined));
  return Object.fromEntries(keys.map((k) => [k, stats(records.map((r) => r[k]!)).median]));
}

/**
 * Runs `warmup` then `rounds` rounds of subject and baseline, alternating which goes first,
 * so drift on a shared machine hits both alike.
 */
export async function alternate<T>(rounds: number, subject: (round: number) => Promise<T>, baseline: (round: number) => Promise<T>, log: (m: string) => void = () => undefined): Promise<{ subject: T[]; baseline: T[] }> {
  await subject(-1);
  await baseline(-1);
  const out = { subject: [] as T[], baseline: [] as T[] };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      out.subject.push(await subject(r));
      out.baseline.push(await baseline(r));
    } else {
      out.baseline.push(await baseline(r));
      out.subject.push(await subject(r));
    }
    log(`round ${r + 1}/${rounds} done`);
  }
  return out;
}
