/**
 * Row 10: overload without collapse. `make load RATE=1500 DURATION=45` into the `make dev`
 * topology: the time until every stage's lag is 0 and the aggregates are exact, against the
 * ideal — the load's own 45 s, or the events ÷ the slowest stage's ceiling (rows 2 and 3)
 * if that is longer — with no dead letters and at most 1 % of the events answered 5xx or
 * timed out along the way.
 */
import { type BenchContext, type BenchRow, eachRound } from '../lib/context.ts';
import { stats } from '../lib/measure.ts';
import { PipelineSession } from '../lib/pipeline.ts';
import type { RowResult } from '../lib/report.ts';

const RATE = 1500;
const DURATION = 45;

/** The slowest of enrich (row 2) and index (row 3) as measured in this run, events/s. */
function slowestStage(ctx: BenchContext): { perSecond: number; which: string } | undefined {
  const stages = ['2', '3'].flatMap((id) => {
    const r = ctx.results.find((x) => x.id === id);
    return r ? [{ perSecond: r.subject.value.median, which: id === '2' ? 'enrich (row 2)' : 'index (row 3)' }] : [];
  });
  return stages.length === 0 ? undefined : stages.reduce((a, b) => (b.perSecond < a.perSecond ? b : a));
}

interface Round {
  seconds: number;
  events: number;
  exact: boolean;
  failedAttempts: number;
  deadLetters: number;
}

function round(ctx: BenchContext, n: number): Promise<Round> {
  return PipelineSession.run(ctx, ctx.basePort + 700 + n * 100, async (session) => {
    const load = await session.offer(RATE, DURATION);
    const drainedAt = await session.drained(load.events.length);
    const diffs = await session.exactness(load.events);
    const trouble = session.deliveryTrouble();
    const seconds = (drainedAt - load.startedMs) / 1000;
    ctx.log(`round ${n + 1}: ${load.events.length} events drained ${seconds.toFixed(1)} s after the load began; ${trouble.failedAttempts} failed attempts, ${trouble.deadLetters} dead letters, ${diffs.length === 0 ? 'exact' : `NOT exact: ${diffs[0]}`}`);
    return { seconds, events: load.events.length, exact: diffs.length === 0, failedAttempts: trouble.failedAttempts, deadLetters: trouble.deadLetters };
  });
}

export const drainRow: BenchRow = {
  ids: ['10'],
  async run(ctx): Promise<RowResult[]> {
    const rounds = await eachRound(ctx, (n) => round(ctx, n));
    const events = RATE * DURATION;
    const slowest = slowestStage(ctx);
    const ideal = Math.max(DURATION, slowest ? events / slowest.perSecond : DURATION);
    const drain = stats(rounds.map((r) => r.seconds));
    const failedShare = Math.max(...rounds.map((r) => r.failedAttempts / r.events));
    const deadLetters = Math.max(...rounds.map((r) => r.deadLetters));
    const ratio = drain.median / ideal;
    const exact = rounds.every((r) => r.exact);
    return [
      {
        id: '10',
        title: 'drain under overload',
        subject: { label: `make load RATE=${RATE} DURATION=${DURATION} drained`, value: drain, unit: 's' },
        baseline: { label: slowest ? `ideal: max(${DURATION} s, ${events} ÷ ${slowest.which} ${Math.round(slowest.perSecond)}/s)` : `ideal: the load's ${DURATION} s (rows 2–3 not run)`, value: stats([ideal]), unit: 's' },
        ratio,
        ratioMeaning: 'seconds from the load\'s start until every stage\'s lag is 0 and the aggregates are exact, ÷ the ideal; target ≤ 1.5× with failed delivery attempts (5xx, timeouts) ≤ 1 % of the events and no dead letters',
        target: { text: '≤ 1.5×, ≤ 1 % 5xx, 0 dead letters', met: ratio <= 1.5 && failedShare <= 0.01 && deadLetters === 0 && exact },
        notes: [`Failed delivery attempts: ${rounds.map((r) => r.failedAttempts).join('/')} (worst ${(failedShare * 100).toFixed(2)} % of the events); dead letters ${rounds.map((r) => r.deadLetters).join('/')}; aggregates ${exact ? 'exact in every round' : 'NOT exact in some round'}.`],
        details: { rounds, idealSeconds: ideal },
      },
    ];
  },
};
