/**
 * Worked examples of the eventing scheduler's placement (sources in placement.ts). The same
 * steps are checked against the upstream scheduler itself in test/upstream/placement.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DispatcherScheduler, type Placement } from './placement.ts';

const pods = (placements: readonly Placement[]) => placements.map((p) => `${p.podName.replace('kafka-source-dispatcher-', 'p')}:${p.vreplicas}`).join(' ');

/** Sets vreplicas and reconciles every source until it is placed, growing the StatefulSet as the reconciler's retries do. */
function settle(s: DispatcherScheduler, vreplicas: Record<string, number>): void {
  for (const [key, n] of Object.entries(vreplicas)) s.setVReplicas(key, n);
  for (let round = 0; round < 10; round++) {
    let left = 0;
    for (const key of Object.keys(vreplicas)) left += s.reconcile(key).left;
    if (left === 0) return;
  }
  throw new Error('did not settle');
}

describe('DispatcherScheduler', () => {
  it('the shipped POD_CAPACITY 20: three sources at 4 + 4 + 1 vreplicas share one pod — one Kafka consumer each', () => {
    const s = new DispatcherScheduler({ podCapacity: 20, minReplicas: 0 });
    settle(s, { enrich: 4, index: 4, aggregate: 1 });
    expect(s.replicas).toBe(1);
    expect(pods(s.placementsOf('enrich'))).toBe('p0:4');
    expect(pods(s.placementsOf('index'))).toBe('p0:4');
  });

  it('POD_CAPACITY 1: every vreplica has a pod, and a source k vreplicas on k different pods', () => {
    const s = new DispatcherScheduler({ podCapacity: 1, minReplicas: 0 });
    settle(s, { enrich: 4, index: 4, aggregate: 1 });
    expect(s.replicas).toBe(9);
    const all = ['enrich', 'index', 'aggregate'].flatMap((k) => s.placementsOf(k).map((p) => p.podName));
    expect(new Set(all).size).toBe(9);
    expect(s.placementsOf('enrich').every((p) => p.vreplicas === 1)).toBe(true);
  });

  it('spreads over as many pods as have room, one vreplica at a time, lowest ordinal first', () => {
    // Capacity 3, 3 pods: enrich 4 → p0 p1 p2 then p0 again.
    const s = new DispatcherScheduler({ podCapacity: 3, minReplicas: 0, initialReplicas: 3 });
    settle(s, { enrich: 4 });
    expect(pods(s.placementsOf('enrich'))).toBe('p0:2 p1:1 p2:1');
    // A second source prefers the pods with room: p1 and p2 (1 free each on p0).
    settle(s, { enrich: 4, index: 3 });
    expect(pods(s.placementsOf('index'))).toBe('p0:1 p1:1 p2:1');
  });

  it('scale-in takes vreplicas from the highest ordinal; the StatefulSet shrinks only on a refresh', () => {
    const s = new DispatcherScheduler({ podCapacity: 1, minReplicas: 0 });
    settle(s, { enrich: 4 });
    expect(s.replicas).toBe(4);
    settle(s, { enrich: 1 });
    expect(pods(s.placementsOf('enrich'))).toBe('p0:1');
    expect(s.autoscale(false)).toEqual({ replicas: 4, evicted: [] });
    expect(s.autoscale(true)).toEqual({ replicas: 1, evicted: [] });
  });

  it('a refresh that changes nothing evicts placements left on pods beyond the StatefulSet (compaction)', () => {
    const s = new DispatcherScheduler({ podCapacity: 1, minReplicas: 0 });
    settle(s, { a: 2, b: 1 });
    // One pod at first: a gets p0 and waits; the StatefulSet grows to 3; b takes p1; a's retry p2.
    expect(pods(s.placementsOf('a'))).toBe('p0:1 p2:1');
    expect(pods(s.placementsOf('b'))).toBe('p1:1');
    // a drops to 0 → 1 vreplica in all → a refresh shrinks to one pod while b still sits on p1.
    settle(s, { a: 0, b: 1 });
    expect(s.autoscale(true)).toEqual({ replicas: 1, evicted: [] });
    expect(s.autoscale(true)).toEqual({ replicas: 1, evicted: ['b'] });
    expect(s.placementsOf('b')).toEqual([]);
    settle(s, { a: 0, b: 1 });
    expect(pods(s.placementsOf('b'))).toBe('p0:1');
  });

  it('DISPATCHERS_MIN_REPLICAS raises every source to that many placements, whatever its vreplicas', () => {
    const s = new DispatcherScheduler({ podCapacity: 20, minReplicas: 4 });
    s.autoscale(true);
    expect(s.replicas).toBe(4);
    settle(s, { enrich: 1, index: 0 });
    expect(pods(s.placementsOf('enrich'))).toBe('p0:1 p1:1 p2:1 p3:1');
    expect(pods(s.placementsOf('index'))).toBe('p0:1 p1:1 p2:1 p3:1');
  });

  it('what does not fit waits: nothing is committed until the StatefulSet has grown', () => {
    const s = new DispatcherScheduler({ podCapacity: 2, minReplicas: 0, initialReplicas: 1 });
    s.setVReplicas('enrich', 3);
    const first = s.schedule('enrich');
    expect(first.left).toBe(1);
    expect(pods(first.placements)).toBe('p0:2');
    expect(s.placementsOf('enrich')).toEqual([]);
    expect(s.reconcile('enrich').left).toBe(1);
    expect(s.replicas).toBe(2);
    expect(s.reconcile('enrich').left).toBe(0);
    expect(pods(s.placementsOf('enrich'))).toBe('p0:2 p1:1');
  });
});
