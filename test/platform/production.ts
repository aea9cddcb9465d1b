/**
 * Readers for the production overlay's tests and its cost table: the broker's settings, and
 * the cpu and memory a rendered platform asks for.
 */
import { type K8sObject } from '../../cli/manifests/index.ts';
import { named, containerOf } from './fixtures.ts';
import { asRecord, workloadContainers } from './pods.ts';

/** Kubernetes quantities as bytes (memory) or cores (cpu). */
export function quantity(value: string | number): number {
  const text = String(value);
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  const factor = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * factor;
}

/** The -Xmx of JVM options (e.g. "-Xms1g -Xmx1g"), in bytes. */
export function maxHeap(options: string): number {
  const match = /-Xmx(\d+)([kmg])\b/i.exec(options);
  if (!match) throw new Error(`no -Xmx in ${options}`);
  return Number(match[1]) * 1024 ** { k: 1, m: 2, g: 3 }[match[2]!.toLowerCase() as 'k' | 'm' | 'g'];
}

/** The broker's --override settings, $(VAR)s resolved from kafka-settings. */
export function brokerSettings(objects: K8sObject[]): Record<string, string> {
  const settings = named(objects, 'ConfigMap', 'kafka-settings')['data'] as Record<string, string>;
  const args = containerOf(objects, 'StatefulSet', 'kafka')['args'] as string[];
  const out: Record<string, string> = {};
  args.forEach((arg, i) => {
    if (args[i - 1] !== '--override') return;
    const [key, ...value] = arg.split('=');
    out[key!] = value.join('=').replace(/\$\((KAFKA_[A-Z_]+)\)/g, (_, name: string) => settings[name] ?? `$(${name})`);
  });
  return out;
}

export interface Footprint {
  /** Cores. */
  cpuRequests: number;
  cpuLimits: number;
  /** Bytes. */
  memoryRequests: number;
  memoryLimits: number;
}

/**
 * What the long-running pods of `objects` reserve (requests) and may use (limits), all
 * replicas counted. A pod's figure is its containers' sum, or its largest init container's
 * when that is larger (Kubernetes' effective request); Jobs are left out (they finish).
 */
export function footprint(objects: K8sObject[]): Record<string, Footprint> {
  const out: Record<string, Footprint> = {};
  for (const object of objects) {
    if (object.kind !== 'StatefulSet' && object.kind !== 'Deployment') continue;
    const replicas = Number(asRecord(object['spec'])?.['replicas'] ?? 1);
    const containers = workloadContainers([object]);
    const of = (kind: 'requests' | 'limits', resource: 'cpu' | 'memory') => {
      const value = (c: Record<string, unknown>) => quantity(String((asRecord(asRecord(c['resources'])?.[kind]) ?? {})[resource] ?? 0));
      const running = containers.filter((c) => !c.init).reduce((sum, c) => sum + value(c.container), 0);
      const init = Math.max(0, ...containers.filter((c) => c.init).map((c) => value(c.container)));
      return replicas * Math.max(running, init);
    };
    out[`${object.kind}/${object.metadata.name}`] = { cpuRequests: of('requests', 'cpu'), cpuLimits: of('limits', 'cpu'), memoryRequests: of('requests', 'memory'), memoryLimits: of('limits', 'memory') };
  }
  return out;
}

/** The rows of platform/README.md's cost table: per workload, then the total, base vs `overlay`. */
export function costRows(base: K8sObject[], overlay: K8sObject[]): string[] {
  const before = footprint(base);
  const after = footprint(overlay);
  const total = (all: Record<string, Footprint>): Footprint =>
    Object.values(all).reduce((a, f) => ({
      cpuRequests: a.cpuRequests + f.cpuRequests,
      cpuLimits: a.cpuLimits + f.cpuLimits,
      memoryRequests: a.memoryRequests + f.memoryRequests,
      memoryLimits: a.memoryLimits + f.memoryLimits,
    }));
  const cells = (f: Footprint | undefined) => {
    if (!f) return '– | –';
    const n = (x: number) => String(Number(x.toFixed(2)));
    return `${n(f.cpuRequests)} / ${n(f.cpuLimits)} | ${n(f.memoryRequests / 2 ** 30)} / ${n(f.memoryLimits / 2 ** 30)}`;
  };
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return [...names.map((name) => `| ${name} | ${cells(before[name])} | ${cells(after[name])} |`), `| **total** | ${cells(total(before))} | ${cells(total(after))} |`];
}
