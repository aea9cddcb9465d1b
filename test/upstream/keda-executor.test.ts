/**
 * Check (a), second half: KEDA's polling loop — 0 → max(min, 1) on activity, back to
 * minReplicaCount a cooldown after the last active poll, lastActiveTime kept as KEDA keeps
 * it — of cli/scaling/keda.ts kedaPoll against KEDA v2.20.2's own executor
 * (pkg/scaling/executor/scale_scaledobjects.go RequestScale, run by tools/upstream/keda on a
 * fake clock and fake clients) over generated sequences of polls, with the HPA changing the
 * replicas in between. Times are whole seconds: the API server keeps lastActiveTime to the
 * second. Deliberately altered emulators must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KedaPollResult, type KedaState, kedaPoll } from '../../cli/scaling/keda.ts';
import { answersTo, differences, generate, report } from './cases.ts';
import { withoutError } from './modules.ts';

interface ExecutorCase {
  id: string;
  minReplicaCount: number;
  maxReplicaCount: number;
  cooldownPeriod: number;
  initialCooldownPeriod?: number;
  initialReplicas: number;
  createdAtMs: number;
  polls: { atMs: number; active: boolean; replicas?: number }[];
}

interface Answer {
  id: string;
  error?: string;
  replicas: number[];
  lastActiveMs: (number | null)[];
}

const arbitrary = fc
  .record({
    minReplicaCount: fc.constantFrom(0, 0, 0, 1, 2),
    span: fc.integer({ min: 0, max: 8 }),
    cooldownPeriod: fc.constantFrom(0, 10, 30, 60, 300),
    initialCooldownPeriod: fc.option(fc.constantFrom(0, 20, 120), { nil: undefined }),
    initialReplicas: fc.integer({ min: 0, max: 4 }),
    interval: fc.constantFrom(1, 5, 10, 30),
    polls: fc.array(fc.record({ active: fc.boolean(), gap: fc.integer({ min: 1, max: 4 }), hpa: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined, freq: 5 }) }), { minLength: 3, maxLength: 60 }),
  })
  .map((g): Omit<ExecutorCase, 'id'> => {
    let t = 1_000_000_000;
    const createdAtMs = t;
    const polls = g.polls.map((p) => {
      t += p.gap * g.interval * 1000;
      return { atMs: t, active: p.active, ...(p.hpa !== undefined ? { replicas: p.hpa } : {}) };
    });
    return {
      minReplicaCount: g.minReplicaCount,
      maxReplicaCount: Math.max(1, g.minReplicaCount + g.span),
      cooldownPeriod: g.cooldownPeriod,
      ...(g.initialCooldownPeriod !== undefined ? { initialCooldownPeriod: g.initialCooldownPeriod } : {}),
      initialReplicas: g.initialReplicas,
      createdAtMs,
      polls,
    };
  });

const CASES = 500;
const cases: ExecutorCase[] = generate(arbitrary, CASES, 7).map((c, i) => ({ id: `executor-${i}`, ...c }));

type Poll = (state: KedaState, input: Parameters<typeof kedaPoll>[1]) => KedaPollResult;

function emulate(c: ExecutorCase, poll: Poll = kedaPoll): { replicas: number[]; lastActiveMs: (number | null)[] } {
  let state: KedaState = { replicas: c.initialReplicas, createdMs: c.createdAtMs };
  const replicas: number[] = [];
  const lastActiveMs: (number | null)[] = [];
  for (const p of c.polls) {
    if (p.replicas !== undefined) state = { ...state, replicas: p.replicas };
    const r = poll(state, { active: p.active, nowMs: p.atMs, minReplicaCount: c.minReplicaCount, maxReplicaCount: c.maxReplicaCount, cooldownPeriodS: c.cooldownPeriod, initialCooldownPeriodS: c.initialCooldownPeriod ?? 0 });
    state = { ...state, replicas: r.replicas, ...(r.lastActiveMs !== undefined ? { lastActiveMs: r.lastActiveMs } : {}) };
    replicas.push(r.replicas);
    lastActiveMs.push(r.lastActiveMs ?? null);
  }
  return { replicas, lastActiveMs };
}

describe('(a) the KEDA polling loop vs KEDA v2.20.2’s executor', { timeout: 300_000 }, () => {
  const answer = answersTo<Answer>('keda', ['executor'], cases);

  const upstream = (c: ExecutorCase) => {
    const a = withoutError(answer(c.id));
    return { replicas: a.replicas, lastActiveMs: a.lastActiveMs };
  };
  const same = (e: ReturnType<typeof emulate>, u: ReturnType<typeof upstream>) => JSON.stringify(e) === JSON.stringify(u);

  it(`takes KEDA's 0 ↔ 1 decisions over ${CASES} generated poll sequences`, () => {
    const diffs = differences(cases, (c) => emulate(c), upstream, same);
    expect(diffs, report('keda-executor', diffs, cases.length)).toEqual([]);
    const all = cases.flatMap((c) => upstream(c).replicas);
    expect(all.filter((r) => r === 0).length).toBeGreaterThan(100);
  });

  it.each<[string, Poll]>([
    ['scale-to-zero at the cooldown boundary itself', (s, i) => (!i.active && s.replicas > 0 && i.minReplicaCount === 0 && s.lastActiveMs !== undefined && i.nowMs >= s.lastActiveMs + i.cooldownPeriodS * 1000 ? { replicas: 0, lastActiveMs: s.lastActiveMs, reason: '' } : kedaPoll(s, i))],
    ['activation to minReplicaCount even when it is 0', (s, i) => (i.active && s.replicas === 0 ? { replicas: i.minReplicaCount, lastActiveMs: i.nowMs, reason: '' } : kedaPoll(s, i))],
  ])('catches an emulator with %s', (_what, poll) => {
    expect(differences(cases, (c) => emulate(c, poll), upstream, same).length).toBeGreaterThan(0);
  });
});
