/**
 * Check (d): the placement of cli/scaling/placement.ts against Knative Eventing's own
 * StatefulSet scheduler (knative.dev/eventing v0.50.0 pkg/scheduler/statefulset, the version
 * eventing-kafka-broker knative-v1.23.x pins) and its autoscaler, driven as the
 * ConsumerGroup reconciler drives them (tools/upstream/knative scheduler.go): over generated
 * sequences of vreplica changes of the three sources, the same placements, dispatcher pods
 * and evictions after every step. Deliberately altered emulators must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DispatcherScheduler, type Placement } from '../../cli/scaling/placement.ts';
import { answersTo, differences, generate, report } from './cases.ts';
import { withoutError } from './modules.ts';

const SOURCES = ['enrich', 'index', 'window-aggregate'];

interface PlacementCase {
  id: string;
  podCapacity: number;
  minReplicas: number;
  initialReplicas: number;
  vpods: string[];
  steps: { vreplicas: Record<string, number>; refresh: boolean }[];
}

interface StepResult {
  statefulSetReplicas: number;
  placements: Record<string, Placement[]>;
}

interface Answer {
  id: string;
  error?: string;
  steps: StepResult[];
}

const arbitrary = fc
  .record({
    podCapacity: fc.constantFrom(1, 1, 2, 3, 5, 20),
    minReplicas: fc.constantFrom(0, 0, 0, 1, 2, 4),
    initialReplicas: fc.constantFrom(0, 1),
    steps: fc.array(
      fc.record({
        enrich: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 3 }),
        index: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 3 }),
        'window-aggregate': fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined, freq: 3 }),
        refresh: fc.boolean(),
      }),
      { minLength: 2, maxLength: 14 },
    ),
  })
  .map(
    (g): Omit<PlacementCase, 'id'> => ({
      podCapacity: g.podCapacity,
      minReplicas: g.minReplicas,
      initialReplicas: g.initialReplicas,
      vpods: SOURCES,
      steps: g.steps.map(({ refresh, ...v }) => ({ vreplicas: Object.fromEntries(Object.entries(v).filter(([, n]) => n !== undefined)) as Record<string, number>, refresh })),
    }),
  );

const CASES = 500;
const cases: PlacementCase[] = generate(arbitrary, CASES, 4).map((c, i) => ({ id: `placement-${i}`, ...c }));

type Make = (c: PlacementCase) => DispatcherScheduler;
const faithful: Make = (c) => new DispatcherScheduler({ podCapacity: c.podCapacity, minReplicas: c.minReplicas, initialReplicas: c.initialReplicas });

/** The emulation through the same steps: KEDA sets vreplicas, changed sources are reconciled, refreshes run the autoscaler. */
function emulate(c: PlacementCase, make: Make = faithful): StepResult[] {
  const s = make(c);
  for (const key of c.vpods) s.setVReplicas(key, 0);
  return c.steps.map((step, i) => {
    for (const key of c.vpods) {
      const v = step.vreplicas[key] ?? s.vreplicasOf(key);
      if (i > 0 && v === s.vreplicasOf(key)) continue;
      s.setVReplicas(key, v);
      s.enqueue(key);
    }
    s.drain();
    if (step.refresh) s.refresh();
    return { statefulSetReplicas: s.replicas, placements: Object.fromEntries(c.vpods.map((k) => [k, s.placementsOf(k).map((p) => ({ podName: p.podName, vreplicas: p.vreplicas }))])) };
  });
}

function upstream(a: Answer): StepResult[] {
  return withoutError(a).steps.map((s) => ({ statefulSetReplicas: s.statefulSetReplicas, placements: s.placements }));
}

const same = (e: StepResult[], u: StepResult[]) => JSON.stringify(e) === JSON.stringify(u);

const compact = (r: StepResult) => `${r.statefulSetReplicas} pods; ${Object.entries(r.placements).map(([k, p]) => `${k} ${p.map((x) => `${x.podName.slice(x.podName.lastIndexOf('-') + 1)}:${x.vreplicas}`).join(',') || '-'}`).join('; ')}`;

/** The case's settings and steps up to the first that differs, one line each. */
function explain(c: PlacementCase, e: StepResult[], u: StepResult[]): string {
  const at = e.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(u[i]));
  const lines = [`${c.id}: capacity ${c.podCapacity}, min ${c.minReplicas}, initial ${c.initialReplicas}; first difference at step ${at}`];
  for (let i = 0; i <= at; i++) {
    lines.push(`  step ${i} ${JSON.stringify(c.steps[i]!.vreplicas)}${c.steps[i]!.refresh ? ' +refresh' : ''}`);
    lines.push(`    emulated ${compact(e[i]!)}`);
    if (i === at) lines.push(`    upstream ${compact(u[i]!)}`);
  }
  return lines.join('\n');
}

describe('(d) dispatcher placement vs the eventing StatefulSet scheduler', { timeout: 300_000 }, () => {
  const answer = answersTo<Answer>('knative', ['scheduler'], cases);

  it(`places every step of ${CASES} generated vreplica sequences as Knative does`, () => {
    const failing = cases.filter((c) => !same(emulate(c), upstream(answer(c.id))));
    const diffs = failing.map((c) => explain(c, emulate(c), upstream(answer(c.id))));
    expect(diffs.length, report('placement', diffs, cases.length)).toBe(0);
    // The cases reach several pods, spread sources, and scale the StatefulSet down again.
    const steps = cases.flatMap((c) => upstream(answer(c.id)));
    expect(Math.max(...steps.map((s) => s.statefulSetReplicas))).toBeGreaterThanOrEqual(10);
    expect(steps.some((s) => Object.values(s.placements).some((p) => p.length >= 3))).toBe(true);
  });

  it('with the deployed settings (POD_CAPACITY 1, no minimum) every vreplica is a pod of its own', () => {
    const ours = cases.filter((c) => c.podCapacity === 1 && c.minReplicas === 0);
    expect(ours.length).toBeGreaterThan(50);
    for (const c of ours) {
      for (const step of upstream(answer(c.id))) {
        for (const placements of Object.values(step.placements)) expect(placements.every((p) => p.vreplicas === 1)).toBe(true);
        const pods = Object.values(step.placements).flatMap((p) => p.map((x) => x.podName));
        expect(new Set(pods).size).toBe(pods.length);
      }
    }
  });

  /** A StatefulSet that never shrinks (no refresh scale-down, no compaction). */
  class NeverShrinks extends DispatcherScheduler {
    override autoscale(_attemptScaleDown: boolean) {
      return super.autoscale(false);
    }
  }
  it.each([
    ['pods = ceil(vreplicas / capacity) without DISPATCHERS_MIN_REPLICAS', ((c) => new DispatcherScheduler({ podCapacity: c.podCapacity, minReplicas: 0, initialReplicas: c.initialReplicas })) as Make],
    ['one Kafka consumer per vreplica (capacity taken as 1)', ((c) => new DispatcherScheduler({ podCapacity: 1, minReplicas: c.minReplicas, initialReplicas: c.initialReplicas })) as Make],
    ['a StatefulSet that never shrinks', ((c) => new NeverShrinks({ podCapacity: c.podCapacity, minReplicas: c.minReplicas, initialReplicas: c.initialReplicas })) as Make],
  ])('catches an emulator with %s', (_what, make) => {
    const diffs = differences(cases, (c) => emulate(c, make), (c) => upstream(answer(c.id)), same);
    expect(diffs.length).toBeGreaterThan(0);
  });
});
