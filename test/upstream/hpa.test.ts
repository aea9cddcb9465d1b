/**
 * Check (b): the HPA of cli/scaling/hpa.ts against the Kubernetes HPA controller itself
 * (k8s.io/kubernetes v1.34.4 pkg/controller/podautoscaler, run by tools/upstream/hpa on a
 * fake clock), for HPAs as KEDA generates them (one External AverageValue metric, behavior
 * unset) over generated metric traces with KEDA's 0 ↔ 1 writes in between: the same replicas
 * after every sync. Deliberately altered emulators must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Hpa, type HpaOptions } from '../../cli/scaling/hpa.ts';
import { HPA_DEFAULTS } from '../../cli/scaling/defaults.ts';
import { answersTo, differences, generate, report } from './cases.ts';
import { withoutError } from './modules.ts';

interface HpaCase {
  id: string;
  minReplicas: number;
  maxReplicas: number;
  targetAverageValueMilli: number;
  initialReplicas: number;
  samples: { atMs: number; metricMilli: number; setReplicas?: number }[];
}

interface Answer {
  id: string;
  error?: string;
  replicas: number[];
}

const SYNC = HPA_DEFAULTS.syncPeriodMs;

const arbitrary = fc
  .record({
    minReplicas: fc.constantFrom(1, 1, 1, 2, 3),
    span: fc.integer({ min: 0, max: 12 }),
    threshold: fc.constantFrom(10, 100, 1000, 10_000),
    initialReplicas: fc.integer({ min: 0, max: 16 }),
    phases: fc.array(
      fc.record({
        syncs: fc.integer({ min: 1, max: 30 }),
        // Lag per target: 0, around the tolerance edges of the current count, or far above.
        kind: fc.constantFrom('zero', 'edge', 'flat', 'ramp', 'huge'),
        level: fc.integer({ min: 0, max: 40 }),
        edge: fc.constantFrom(0.9, 1.1, 0.899, 1.101, 1),
      }),
      { minLength: 1, maxLength: 8 },
    ),
    keda: fc.array(fc.constantFrom(undefined, undefined, undefined, undefined, undefined, undefined, undefined, 0, 1), { minLength: 240, maxLength: 240 }),
    skip: fc.array(fc.boolean(), { minLength: 240, maxLength: 240 }),
  })
  .map((g): Omit<HpaCase, 'id'> => {
    const target = g.threshold * 1000;
    const samples: HpaCase['samples'] = [];
    let t = 0;
    for (const phase of g.phases) {
      for (let i = 0; i < phase.syncs; i++, t++) {
        const level = phase.kind === 'zero' ? 0 : phase.kind === 'edge' ? Math.round(target * phase.level * phase.edge) : phase.kind === 'ramp' ? target * (i + 1) : phase.kind === 'huge' ? target * 1000 : target * phase.level + 1;
        // Skipped grid points: the controller syncs there on the last metric it saw.
        if (t > 0 && g.skip[t % g.skip.length] && i > 0) continue;
        const setReplicas = t > 0 ? g.keda[t % g.keda.length] : undefined;
        samples.push({ atMs: t * SYNC, metricMilli: level, ...(setReplicas !== undefined ? { setReplicas } : {}) });
      }
    }
    return { minReplicas: g.minReplicas, maxReplicas: g.minReplicas + g.span, targetAverageValueMilli: target, initialReplicas: g.initialReplicas, samples };
  });

const CASES = 500;
const cases: HpaCase[] = generate(arbitrary, CASES, 2).map((c, i) => ({ id: `hpa-${i}`, ...c }));

type Make = (o: HpaOptions) => Hpa;

/** Every sync on the 15 s grid from the first sample; a sample sets the metric (and KEDA's write) from its time on. */
function emulate(c: HpaCase, make: Make = (o) => new Hpa(o)): number[] {
  const hpa = make({ minReplicas: c.minReplicas, maxReplicas: c.maxReplicas, targetAverageValue: c.targetAverageValueMilli / 1000 });
  let replicas = c.initialReplicas;
  let metric = 0;
  const out: number[] = [];
  let next = 0;
  const last = c.samples[c.samples.length - 1]!.atMs;
  for (let at = c.samples[0]!.atMs; at <= last; at += SYNC) {
    const sample = c.samples[next]?.atMs === at ? c.samples[next++] : undefined;
    if (sample) {
      metric = sample.metricMilli;
      if (sample.setReplicas !== undefined) replicas = sample.setReplicas;
    }
    replicas = hpa.sync(at, { currentReplicas: replicas, statusReplicas: replicas, metricMilli: metric }).desired;
    if (sample) out.push(replicas);
  }
  return out;
}

describe('(b) HPA vs the Kubernetes 1.34 HPA controller', { timeout: 300_000 }, () => {
  const answer = answersTo<Answer>('hpa', [], cases);

  const upstream = (c: HpaCase) => {
    return withoutError(answer(c.id)).replicas;
  };
  const same = (e: number[], u: number[]) => JSON.stringify(e) === JSON.stringify(u);

  it(`scales like the controller over ${CASES} generated traces`, () => {
    const diffs = differences(cases, (c) => emulate(c), upstream, same);
    expect(diffs, report('hpa', diffs, cases.length)).toEqual([]);
    // The traces scale up to the limit, hold down in the stabilization window and hit the bounds.
    const all = cases.flatMap(upstream);
    expect(new Set(all).size).toBeGreaterThan(10);
    expect(cases.some((c) => upstream(c).includes(c.maxReplicas) && c.maxReplicas > 4)).toBe(true);
  });

  class NoInitialRecommendation extends Hpa {
    protected override initialRecommendations() {
      return [];
    }
  }
  it.each<[string, Make]>([
    ['a 20 % tolerance', (o) => new Hpa({ ...o, tolerance: 0.2 })],
    ['a 60 s downscale stabilization', (o) => new Hpa({ ...o, downscaleStabilizationS: 60 })],
    ['a scale-up limit of max(3 · current, 4)', (o) => new Hpa({ ...o, scaleUpLimitFactor: 3 })],
    ['no recommendation recorded at the first sync', (o) => new NoInitialRecommendation(o)],
  ])('catches an emulator with %s', (_what, make) => {
    const diffs = differences(cases, (c) => emulate(c, make), upstream, same);
    expect(diffs.length).toBeGreaterThan(0);
  });
});
