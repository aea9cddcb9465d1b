/**
 * A NetworkPolicy evaluator that answers "may this pod reach that one on this port?" with
 * Kubernetes semantics, so the policies can be tested against the pipeline's real flows
 * without a cluster.
 */
import { type K8sObject, dig } from '../../cli/manifests/index.ts';
import { asArray, asRecord } from './pods.ts';

/** A pod (namespace + labels) or a host outside the pod network (ip only). */
export interface Endpoint {
  /** For messages: e.g. "kafka", "knative-serving/activator", "internet". */
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Named container ports, for policies that name a port. */
  ports?: Record<string, number>;
  /** Outside the pod network: matched by ipBlock peers and by rules without peers only. */
  ip?: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${operator}`);
    }
  }
  return true;
}

function ipv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** IPv4 CIDR containment (the pipeline's policies use IPv4 only). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits = '32'] = cidr.split('/');
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  peers?: Peer[];
  ports?: PolicyPort[];
}

interface Policy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  ingress?: Rule[];
  egress?: Rule[];
}

export interface Verdict {
  allowed: boolean;
  /** Why, in words: which side refused, or which policies allowed it. */
  reason: string;
}

export class NetworkPolicies {
  readonly #policies: Policy[];
  readonly #namespaceLabels: Record<string, Record<string, string>>;

  /**
   * `objects` may contain anything; only NetworkPolicies are used. `namespaceLabels` adds
   * labels beyond kubernetes.io/metadata.name, which every namespace has.
   */
  constructor(objects: K8sObject[], namespaceLabels: Record<string, Record<string, string>> = {}) {
    this.#namespaceLabels = namespaceLabels;
    this.#policies = objects
      .filter((o) => o.apiVersion === 'networking.k8s.io/v1' && o.kind === 'NetworkPolicy')
      .map((o): Policy => {
        const spec = asRecord(o['spec']) ?? {};
        const types = asArray(spec['policyTypes']).map(String);
        // Without policyTypes: Ingress always, Egress when there are egress rules.
        const ingress = types.length > 0 ? types.includes('Ingress') : true;
        const egress = types.length > 0 ? types.includes('Egress') : spec['egress'] !== undefined;
        const rules = (field: 'ingress' | 'egress', peersField: 'from' | 'to'): Rule[] =>
          asArray(spec[field]).map((rule) => {
            const r: Rule = {};
            const peers = dig(rule, peersField);
            if (Array.isArray(peers)) r.peers = peers as Peer[];
            const ports = dig(rule, 'ports');
            if (Array.isArray(ports)) r.ports = ports as PolicyPort[];
            return r;
          });
        const policy: Policy = {
          name: o.metadata.name,
          namespace: o.metadata.namespace ?? 'default',
          podSelector: (asRecord(spec['podSelector']) ?? {}) as LabelSelector,
        };
        if (ingress) policy.ingress = rules('ingress', 'from');
        if (egress) policy.egress = rules('egress', 'to');
        return policy;
      });
  }

  get names(): string[] {
    return this.#policies.map((p) => `${p.namespace}/${p.name}`);
  }

  #namespaceLabelsOf(namespace: string): Record<string, string> {
    return { 'kubernetes.io/metadata.name': namespace, ...this.#namespaceLabels[namespace] };
  }

  #selects(policy: Policy, endpoint: Endpoint): boolean {
    return endpoint.namespace === policy.namespace && selectorMatches(policy.podSelector, endpoint.labels ?? {});
  }

  #peerMatches(peer: Peer, policy: Policy, endpoint: Endpoint): boolean {
    if (peer.ipBlock) {
      // Pods are matched by selectors, hosts outside the pod network by ipBlock (whether an
      // ipBlock also matches pod IPs differs between CNIs, so the policies must not rely on it).
      if (endpoint.ip === undefined) return false;
      return cidrContains(peer.ipBlock.cidr, endpoint.ip) && !(peer.ipBlock.except ?? []).some((c) => cidrContains(c, endpoint.ip!));
    }
    if (endpoint.namespace === undefined) return false;
    if (peer.namespaceSelector) {
      if (!selectorMatches(peer.namespaceSelector, this.#namespaceLabelsOf(endpoint.namespace))) return false;
    } else if (endpoint.namespace !== policy.namespace) {
      return false;
    }
    return selectorMatches(peer.podSelector, endpoint.labels ?? {});
  }

  #portMatches(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === 'string') return destination.ports?.[p.port] === port;
      return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
    });
  }

  /**
   * Whether `subject` may send (egress, to `peer`) or receive (ingress, from `peer`) the flow
   * to `destination`'s port, and which of its policies allow it (none when no policy of
   * that direction selects it: then it is unrestricted).
   */
  #side(direction: 'ingress' | 'egress', subject: Endpoint, peer: Endpoint, destination: Endpoint, port: number, protocol: string): { ok: boolean; by: string[] } {
    const applicable = this.#policies.filter((p) => p[direction] !== undefined && this.#selects(p, subject));
    if (applicable.length === 0) return { ok: true, by: [] };
    const by = applicable
      .filter((p) =>
        p[direction]!.some(
          (rule) => (!rule.peers || rule.peers.length === 0 || rule.peers.some((peerRule) => this.#peerMatches(peerRule, p, peer))) && this.#portMatches(rule.ports, destination, port, protocol),
        ),
      )
      .map((p) => p.name);
    return { ok: by.length > 0, by };
  }

  /**
   * A flow is allowed iff the source's egress allows it and the destination's ingress allows
   * it. A pod no policy selects for a direction is unrestricted in that direction; hosts
   * outside the pod network have no policies.
   */
  check(from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP'): Verdict {
    const egress = from.namespace === undefined ? { ok: true, by: [] } : this.#side('egress', from, to, to, port, protocol);
    const ingress = to.namespace === undefined ? { ok: true, by: [] } : this.#side('ingress', to, from, to, port, protocol);
    const flow = `${from.name} → ${to.name}:${port}/${protocol}`;
    if (!egress.ok) return { allowed: false, reason: `${flow}: no egress rule of ${from.name}'s policies allows it` };
    if (!ingress.ok) return { allowed: false, reason: `${flow}: no ingress rule of ${to.name}'s policies allows it` };
    const by = [...egress.by.map((n) => `egress ${n}`), ...ingress.by.map((n) => `ingress ${n}`)];
    return { allowed: true, reason: `${flow}: ${by.length > 0 ? by.join(', ') : 'no policy restricts it'}` };
  }

  allowed(from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP'): boolean {
    return this.check(from, to, port, protocol).allowed;
  }

  /**
   * Selectors that select nothing among `endpoints` (a typo makes a policy silently
   * inert): each policy's podSelector, and each peer's selectors.
   */
  unmatchedSelectors(endpoints: Endpoint[]): string[] {
    const found: string[] = [];
    for (const policy of this.#policies) {
      if (!endpoints.some((e) => this.#selects(policy, e))) found.push(`${policy.name}: podSelector selects no pod`);
      for (const direction of ['ingress', 'egress'] as const) {
        (policy[direction] ?? []).forEach((rule, i) => {
          for (const peer of rule.peers ?? []) {
            if (peer.ipBlock) continue;
            if (!endpoints.some((e) => this.#peerMatches(peer, policy, e))) {
              found.push(`${policy.name}: ${direction}[${i}] peer ${JSON.stringify(peer)} matches no pod`);
            }
          }
        });
      }
    }
    return found;
  }
}
