/**
 * Check (c): the KPA decider of cli/scaling/kpa.ts against Knative Serving's own
 * (pkg/autoscaler/scaling at knative-v1.23.0, with its metric collector and the
 * annotation/config resolution of the revision and KPA reconcilers; tools/upstream/knative
 * kpa.go), over generated concurrency traces: the same pods, panic mode and "no data"
 * verdict at every 2 s tick. Deliberately altered emulators must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KpaDecider } from '../../cli/scaling/kpa.ts';
import { type KpaOptions, kpaOptionsFrom } from '../../cli/scaling/kpa-options.ts';
import { answersTo, differences, generate, report } from './cases.ts';
import { withoutError } from './modules.ts';

interface KpaCase {
  id: string;
  annotations: Record<string, string>;
  configAutoscaler: Record<string, string>;
  containerConcurrency: number;
  observations: { atMs: number; inFlight: number }[];
  ticks: { atMs: number; readyPods: number }[];
}

interface Verdict {
  valid: boolean;
  desired: number | null;
  panic: boolean | null;
}

interface Answer {
  id: string;
  error?: string;
  decisions: { atMs: number; valid: boolean; desired: number | null; panic: boolean | null }[];
}

const segment = fc.record({
  seconds: fc.integer({ min: 1, max: 40 }),
  level: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 60, max: 800 })),
  noise: fc.integer({ min: 0, max: 30 }),
  gap: fc.boolean(),
});

const arbitrary = fc
  .record({
    target: fc.constantFrom(1, 10, 35, 50, 100, 200),
    utilization: fc.option(fc.integer({ min: 30, max: 100 }), { nil: undefined }),
    window: fc.option(fc.constantFrom('6s', '20s', '60s', '90s'), { nil: undefined }),
    panicWindowPercentage: fc.option(fc.constantFrom(5, 10, 25, 50), { nil: undefined }),
    panicThresholdPercentage: fc.option(fc.constantFrom(110, 150, 200, 400), { nil: undefined }),
    maxScaleDownRate: fc.option(fc.constantFrom('2', '4', '1.5'), { nil: undefined }),
    maxScaleUpRate: fc.option(fc.constantFrom('1000', '10', '2'), { nil: undefined }),
    segments: fc.array(segment, { minLength: 2, maxLength: 12 }),
    pods: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 200, maxLength: 200 }),
    wobble: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 300, maxLength: 300 }),
  })
  .map((g): Omit<KpaCase, 'id'> => {
    const annotations: Record<string, string> = { 'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev', 'autoscaling.knative.dev/metric': 'concurrency', 'autoscaling.knative.dev/target': String(g.target) };
    if (g.utilization !== undefined) annotations['autoscaling.knative.dev/target-utilization-percentage'] = String(g.utilization);
    if (g.window !== undefined) annotations['autoscaling.knative.dev/window'] = g.window;
    if (g.panicWindowPercentage !== undefined) annotations['autoscaling.knative.dev/panic-window-percentage'] = String(g.panicWindowPercentage);
    if (g.panicThresholdPercentage !== undefined) annotations['autoscaling.knative.dev/panic-threshold-percentage'] = String(g.panicThresholdPercentage);
    const configAutoscaler: Record<string, string> = {};
    if (g.maxScaleDownRate !== undefined) configAutoscaler['max-scale-down-rate'] = g.maxScaleDownRate;
    if (g.maxScaleUpRate !== undefined) configAutoscaler['max-scale-up-rate'] = g.maxScaleUpRate;
    // One scrape a second (as the collector scrapes), the in-flight total of that second; gaps have none.
    const observations: KpaCase['observations'] = [];
    let second = 0;
    for (const s of g.segments) {
      for (let i = 0; i < s.seconds; i++, second++) {
        if (s.gap) continue;
        const wobble = g.wobble[second % g.wobble.length]! / 1000;
        observations.push({ atMs: second * 1000 + (second % 7) * 100, inFlight: Math.max(0, Math.round(s.level + s.noise * wobble)) });
      }
    }
    const ticks: KpaCase['ticks'] = [];
    for (let t = 2000, i = 0; t <= second * 1000 + 20_000; t += 2000, i++) ticks.push({ atMs: t, readyPods: g.pods[i % g.pods.length]! });
    return { annotations, configAutoscaler, containerConcurrency: 0, observations, ticks };
  });

const CASES = 500;
const cases: KpaCase[] = generate(arbitrary, CASES, 3).map((c, i) => ({ id: `kpa-${i}`, ...c }));

/** The emulated decider over one case's ticks. */
function emulate(c: KpaCase, make: (options: KpaOptions) => KpaDecider = (o) => new KpaDecider(o)): Verdict[] {
  const decider = make(kpaOptionsFrom(c.annotations, c.configAutoscaler, c.containerConcurrency));
  let next = 0;
  return c.ticks.map((tick) => {
    for (; next < c.observations.length && c.observations[next]!.atMs <= tick.atMs; next++) decider.record(c.observations[next]!.atMs, c.observations[next]!.inFlight);
    const d = decider.scale(tick.atMs, tick.readyPods);
    return d.valid ? { valid: true, desired: d.desired, panic: d.panic } : { valid: false, desired: null, panic: null };
  });
}

function upstreamVerdicts(a: Answer): Verdict[] {
  return withoutError(a).decisions.map((d) => (d.valid ? { valid: true, desired: d.desired, panic: d.panic } : { valid: false, desired: null, panic: null }));
}

const same = (e: Verdict[], u: Verdict[]) => JSON.stringify(e) === JSON.stringify(u);

describe('(c) KPA decider vs Knative Serving knative-v1.23.0', { timeout: 300_000 }, () => {
  const answer = answersTo<Answer>('knative', ['kpa'], cases);

  it(`decides every tick of ${CASES} generated traces as Knative does`, () => {
    const diffs = differences(cases, (c) => emulate(c), (c) => upstreamVerdicts(answer(c.id)), same);
    expect(diffs, report('kpa', diffs, cases.length)).toEqual([]);
    // The traces reach panic mode, scale-downs limited by the rate, and "no data" ticks.
    const all = cases.flatMap((c) => upstreamVerdicts(answer(c.id)));
    expect(all.some((v) => v.panic === true)).toBe(true);
    expect(all.some((v) => !v.valid)).toBe(true);
    expect(new Set(all.map((v) => v.desired)).size).toBeGreaterThan(10);
  });

  it.each([
    ['a 75 % utilization default instead of 70 %', (o: KpaOptions) => new KpaDecider({ ...o, targetUtilizationPercentage: o.targetUtilizationPercentage ?? 75 })],
    ['no scale-down rate limit', (o: KpaOptions) => new KpaDecider({ ...o, maxScaleDownRate: 1e9 })],
    ['a panic window of the stable window’s 20 %', (o: KpaOptions) => new KpaDecider({ ...o, panicWindowPercentage: (o.panicWindowPercentage ?? 10) * 2 })],
  ])('catches an emulator with %s', (_what, make) => {
    const diffs = differences(cases, (c) => emulate(c, make), (c) => upstreamVerdicts(answer(c.id)), same);
    expect(diffs.length).toBeGreaterThan(0);
  });
});
