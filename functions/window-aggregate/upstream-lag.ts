/**
 * Whether upstream consumer groups still have to deliver events older than a watermark
 * candidate. (Any lag at all would hold the watermark for ever on a live stream:
 * dispatchers commit only every 5 s.) Read from Kafka, cached briefly: every recomputation
 * asks, and a burst of notices must not become a burst of offset requests.
 */
import type { Admin } from 'kafkajs';
import { readBacklogBefore } from '../../shared/lag.ts';
import type { UpstreamBehind } from './watermark.ts';

export interface UpstreamLagOptions {
  read: UpstreamBehind;
  cacheMs: number;
  now: () => number;
}

export class UpstreamLag {
  #last: { at: number; candidateMs: number; behind: Promise<boolean> } | undefined;

  constructor(private readonly o: UpstreamLagOptions) {}

  /** A read younger than cacheMs for a candidate at least as new answers for this one too. */
  behind(candidateMs: number): Promise<boolean> {
    const now = this.o.now();
    const last = this.#last;
    if (last && now - last.at < this.o.cacheMs && last.candidateMs >= candidateMs) return last.behind;
    const behind = this.o.read(candidateMs);
    this.#last = { at: now, candidateMs, behind };
    return behind;
  }
}

/** Reads the backlog of `upstream` (`group:topic` pairs) older than the candidate; nothing upstream is never behind. */
export function kafkaBacklog(admin: Admin | undefined, upstream: { group: string; topic: string }[]): UpstreamBehind {
  if (!admin || upstream.length === 0) return () => Promise.resolve(false);
  return (candidateMs) =>
    admin
      .connect()
      .then(() => Promise.all(upstream.map(({ group, topic }) => readBacklogBefore(admin, group, topic, candidateMs))))
      .then(
        (backlogs) => backlogs.some((b) => b > 0),
        // Kafka unreachable: hold the watermark rather than finalize windows on a guess.
        () => true,
      );
}
