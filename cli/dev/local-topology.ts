/**
 * The topology as the local runtime runs it: only the services asked for, every topic,
 * consumer group and index name of one run (so several runtimes can share one platform),
 * and the services in the order events flow through them.
 */
import { PIPELINE_NAMES, runName } from '../../shared/topology.ts';
import type { Topology } from '../manifests/index.ts';

/** The topology with `-suffix` on every topic, consumer group and index name. */
export function isolated(topology: Topology, suffix: string): Topology {
  const s = (name: string) => runName(name, suffix);
  return {
    ...topology,
    services: topology.services.map((svc) => {
      const env = { ...svc.env };
      for (const key of Object.keys(PIPELINE_NAMES)) if (env[key]) env[key] = s(env[key]);
      if (env['UPSTREAM_CONSUMER_GROUPS']) {
        env['UPSTREAM_CONSUMER_GROUPS'] = env['UPSTREAM_CONSUMER_GROUPS']
          .split(',')
          .map((pair) => pair.split(':').map(s).join(':'))
          .join(',');
      }
      return { ...svc, env };
    }),
    kafkaSources: topology.kafkaSources.map((src) => ({ ...src, topics: src.topics.map(s), consumerGroup: s(src.consumerGroup) })),
    kafkaSinks: topology.kafkaSinks.map((k) => ({ ...k, topic: s(k.topic) })),
  };
}

/** Only these services (all when undefined), and the sources and pings that feed them. */
export function onlyServices(topology: Topology, services: string[] | undefined): Topology {
  if (!services) return topology;
  const keep = new Set(services);
  return {
    ...topology,
    services: topology.services.filter((svc) => keep.has(svc.name)),
    kafkaSources: topology.kafkaSources.filter((src) => keep.has(src.sink)),
    pingSources: topology.pingSources.filter((p) => keep.has(p.sink)),
  };
}

/** Services in the order events flow through them, so local ports are stable: generate first. */
const FLOW = ['generate', 'enrich', 'index', 'window-aggregate'];

export function byFlow<T extends { name: string }>(services: T[]): T[] {
  const rank = (name: string) => (FLOW.includes(name) ? FLOW.indexOf(name) : FLOW.length);
  return [...services].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}
