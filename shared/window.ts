/** Tumbling 1-minute windows on event time. Pure functions, no I/O. */
export const WINDOW_MS = 60_000;

export function windowStartOf(timeMs: number): number {
  return Math.floor(timeMs / WINDOW_MS) * WINDOW_MS;
}

export function windowStartIso(timestamp: string): string {
  return new Date(windowStartOf(Date.parse(timestamp))).toISOString();
}

export function windowEndOf(windowStartMs: number): number {
  return windowStartMs + WINDOW_MS;
}

/** Document id of one aggregate cell: stable across processes and replays. */
export function aggregateId(windowStartIsoString: string, eventType: string, region: string): string {
  return `${windowStartIsoString}|${eventType}|${region}`;
}

/**
 * External version of an aggregate document. It only grows: more events give a higher
 * count, and the final bit ranks a final result above an open one with the same count,
 * so a stale recomputation can never overwrite a newer one.
 */
export function aggregateVersion(count: number, final: boolean): number {
  return count * 2 + (final ? 1 : 0);
}

/**
 * Watermark: event time up to which windows are complete. `latestEventMs` is the newest
 * event time indexed; it is capped by the wall clock so a fast clock cannot run ahead.
 */
export function watermarkOf(latestEventMs: number | undefined, nowMs: number, latenessMs: number): number | undefined {
  if (latestEventMs === undefined) return undefined;
  return Math.min(latestEventMs, nowMs) - latenessMs;
}

export function isWindowFinal(windowStartMs: number, watermarkMs: number | undefined): boolean {
  return watermarkMs !== undefined && windowEndOf(windowStartMs) <= watermarkMs;
}
