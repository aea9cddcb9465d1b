/**
 * The event time up to which windows are complete, as this process knows it. It only moves
 * forward, and not at all while upstream consumer groups still have older events to
 * deliver: a backlog or a cold start is not lateness.
 */
import { watermarkOf } from '../../shared/window.ts';

/** True while upstream still has events older than `candidateMs` to deliver. */
export type UpstreamBehind = (candidateMs: number) => Promise<boolean>;

export class Watermark {
  #value: number | undefined;

  constructor(
    private readonly latenessMs: number,
    private readonly upstreamBehind: UpstreamBehind = () => Promise.resolve(false),
  ) {}

  get value(): number | undefined {
    return this.#value;
  }

  /**
   * Offers the watermark of the newest event time `latestEventMs` seen at `nowMs`. The
   * upstream backlog is read only when the watermark would advance.
   */
  async observe(latestEventMs: number | undefined, nowMs: number): Promise<number | undefined> {
    const candidate = watermarkOf(latestEventMs, nowMs, this.latenessMs);
    if (candidate === undefined || (this.#value !== undefined && candidate <= this.#value)) return this.#value;
    return this.advance(candidate, await this.upstreamBehind(candidate));
  }

  /** Offers a candidate; ignored while `held` or when it would move backwards. */
  advance(candidateMs: number | undefined, held: boolean): number | undefined {
    if (!held && candidateMs !== undefined && (this.#value === undefined || candidateMs > this.#value)) this.#value = candidateMs;
    return this.#value;
  }
}
