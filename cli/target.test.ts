import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectTarget } from './target.ts';
import { parseQuantity, serviceOf } from './target/cluster.ts';

describe('detectTarget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'target-'));
  const state = join(dir, 'state.json');
  writeFileSync(state, '{}');

  it('is local while make dev keeps its state file fresh', () => {
    expect(detectTarget(state, Date.now(), () => true)).toBe('local');
  });

  it('is the cluster when make dev is not running and a kube context exists', () => {
    const old = new Date(Date.now() - 60_000);
    utimesSync(state, old, old);
    expect(detectTarget(state, Date.now(), () => true)).toBe('cluster');
    expect(detectTarget(join(dir, 'absent.json'), Date.now(), () => true)).toBe('cluster');
    expect(detectTarget(join(dir, 'absent.json'), Date.now(), () => false)).toBe('local');
  });
});

describe('ClusterTarget helpers', () => {
  it('reads HPA metric quantities', () => {
    expect(parseQuantity('12')).toBe(12);
    expect(parseQuantity('1500m')).toBe(1.5);
    expect(parseQuantity('10k')).toBe(10_000);
    expect(Number.isNaN(parseQuantity('lots'))).toBe(true);
  });

  it('finds the Service and port behind the in-cluster addresses of knative/', () => {
    expect(serviceOf('kafka.big-data-pipeline.svc.cluster.local:9092', 1)).toEqual({ service: 'kafka', port: 9092 });
    expect(serviceOf('http://elasticsearch.big-data-pipeline.svc.cluster.local:9200', 1)).toEqual({ service: 'elasticsearch', port: 9200 });
    expect(serviceOf('http://elasticsearch', 9200)).toEqual({ service: 'elasticsearch', port: 9200 });
  });
});
