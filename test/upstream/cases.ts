/**
 * Generated cases for the differential checks: reproducible from a seed, which every
 * failure message prints (UPSTREAM_SEED=<n> replays a run).
 */
import fc from 'fast-check';
import { beforeAll } from 'vitest';
import { type UpstreamTool, runCheck } from './modules.ts';

export const SEED = process.env['UPSTREAM_SEED'] ? Number(process.env['UPSTREAM_SEED']) : Date.now() % 2 ** 31;

/** `count` cases drawn from `arbitrary` with the run's seed (offset per check, so checks differ). */
export function generate<T>(arbitrary: fc.Arbitrary<T>, count: number, offset: number): T[] {
  return fc.sample(arbitrary, { seed: SEED + offset, numRuns: count });
}

/** Answers that differ, described; empty when the emulation agrees with upstream on every case. */
export function differences<C extends { id: string }, E, U>(cases: readonly C[], emulated: (c: C) => E, upstream: (c: C) => U, same: (e: E, u: U) => boolean): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const e = emulated(c);
    const u = upstream(c);
    if (!same(e, u)) out.push(`${c.id}: emulated ${JSON.stringify(e).slice(0, 600)}, upstream ${JSON.stringify(u).slice(0, 600)}`);
  }
  return out;
}

export function report(check: string, diffs: string[], cases: number): string {
  return `${check}: ${diffs.length} of ${cases} generated cases differ (seed ${SEED}; UPSTREAM_SEED=${SEED} replays them)\n${diffs.slice(0, 3).join('\n')}`;
}

/**
 * The answers of one check to `cases`, run once before the tests of the enclosing describe
 * block (the first build of a check binary takes minutes). The function returned gives the
 * answer to one case.
 */
export function answersTo<A extends { id: string }>(tool: UpstreamTool, args: string[], cases: readonly { id: string }[]): (id: string) => A {
  let answers: Map<string, A> | undefined;
  beforeAll(async () => {
    answers = await runCheck<A>(tool, args, cases);
  }, 600_000);
  return (id) => {
    const answer = answers?.get(id);
    if (!answer) throw new Error(`${tool} ${args.join(' ')}: no answer for ${id}`);
    return answer;
  };
}
