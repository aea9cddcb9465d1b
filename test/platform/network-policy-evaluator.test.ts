/**
 * The NetworkPolicy evaluator (network-policies.ts) follows Kubernetes semantics.
 */
import { describe, expect, it } from 'vitest';
import { type K8sObject } from '../../cli/manifests/index.ts';
import { NetworkPolicies, cidrContains, type Endpoint } from './network-policies.ts';

describe('the NetworkPolicy evaluator', () => {
  const np = (name: string, spec: Record<string, unknown>, namespace = 'app'): K8sObject =>
    ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }) as K8sObject;
  const web: Endpoint = { name: 'web', namespace: 'app', labels: { role: 'web' }, ports: { http: 8080 } };
  const db: Endpoint = { name: 'db', namespace: 'app', labels: { role: 'db', tier: 'data' } };
  const other: Endpoint = { name: 'other', namespace: 'app', labels: { role: 'other' } };
  const monitor: Endpoint = { name: 'monitor', namespace: 'ops', labels: { role: 'monitor' } };
  const stranger: Endpoint = { name: 'stranger', namespace: 'ops', labels: { role: 'stranger' } };
  const outside: Endpoint = { name: 'outside', ip: '198.51.100.9' };

  it('leaves pods no policy selects unrestricted', () => {
    const policies = new NetworkPolicies([]);
    expect(policies.allowed(web, db, 5432)).toBe(true);
    expect(policies.allowed(outside, web, 1)).toBe(true);
  });

  it('default deny stops everything, in both directions, only in its namespace', () => {
    const policies = new NetworkPolicies([np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    expect(policies.allowed(web, db, 5432)).toBe(false);
    expect(policies.allowed(monitor, web, 8080)).toBe(false);
    expect(policies.allowed(web, monitor, 9090)).toBe(false);
    expect(policies.allowed(monitor, stranger, 1)).toBe(true);
  });

  it('needs egress of the source and ingress of the destination', () => {
    const objects = [
      np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      np('db-in', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }], ports: [{ port: 5432 }] }] }),
    ];
    expect(new NetworkPolicies(objects).check(web, db, 5432)).toEqual({ allowed: false, reason: "web → db:5432/TCP: no egress rule of web's policies allows it" });
    const withEgress = new NetworkPolicies([
      ...objects,
      np('web-out', { podSelector: { matchLabels: { role: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { tier: 'data' } } }] }] }),
    ]);
    expect(withEgress.check(web, db, 5432)).toEqual({ allowed: true, reason: 'web → db:5432/TCP: egress web-out, ingress db-in' });
    expect(withEgress.allowed(web, db, 5433)).toBe(false);
    expect(withEgress.allowed(other, db, 5432)).toBe(false);
    expect(withEgress.allowed(web, db, 5432, 'UDP')).toBe(false);
  });

  it('defaults policyTypes from the rules: Ingress always, Egress only with egress rules', () => {
    const ingressOnly = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'db' } }, ingress: [] })]);
    expect(ingressOnly.allowed(web, db, 1)).toBe(false);
    expect(ingressOnly.allowed(db, web, 1)).toBe(true);
    const both = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'db' } }, egress: [] })]);
    expect(both.allowed(web, db, 1)).toBe(false);
    expect(both.allowed(db, web, 1)).toBe(false);
  });

  it('matches namespaceSelector alone, with a podSelector, and a podSelector alone only in the policy namespace', () => {
    const policy = (from: unknown[]) => new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ from }] })], { ops: { team: 'sre' } });
    const byNamespace = policy([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }]);
    expect(byNamespace.allowed(monitor, web, 8080)).toBe(true);
    expect(byNamespace.allowed(stranger, web, 8080)).toBe(true);
    expect(byNamespace.allowed(other, web, 8080)).toBe(false);
    const byBoth = policy([{ namespaceSelector: { matchLabels: { team: 'sre' } }, podSelector: { matchLabels: { role: 'monitor' } } }]);
    expect(byBoth.allowed(monitor, web, 8080)).toBe(true);
    expect(byBoth.allowed(stranger, web, 8080)).toBe(false);
    const byPod = policy([{ podSelector: { matchLabels: { role: 'monitor' } } }]);
    expect(byPod.allowed(monitor, web, 8080)).toBe(false);
    // Two peers in one rule are alternatives.
    const either = policy([{ podSelector: { matchLabels: { role: 'other' } } }, { namespaceSelector: {}, podSelector: { matchLabels: { role: 'stranger' } } }]);
    expect(either.allowed(other, web, 8080)).toBe(true);
    expect(either.allowed(stranger, web, 8080)).toBe(true);
    expect(either.allowed(monitor, web, 8080)).toBe(false);
  });

  it('treats a rule without peers as everyone, and ipBlock as hosts outside the pod network', () => {
    const open = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] })]);
    expect(open.allowed(outside, web, 8080)).toBe(true);
    expect(open.allowed(stranger, web, 8080)).toBe(true);
    expect(open.allowed(stranger, web, 8081)).toBe(false);
    const blocks = new NetworkPolicies([
      np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/29'] } }] }] }),
    ]);
    expect(blocks.allowed(outside, web, 8080)).toBe(true);
    expect(blocks.allowed({ name: 'excepted', ip: '198.51.100.3' }, web, 8080)).toBe(false);
    expect(blocks.allowed({ name: 'elsewhere', ip: '192.0.2.1' }, web, 8080)).toBe(false);
    expect(blocks.allowed(stranger, web, 8080)).toBe(false);
  });

  it('handles port ranges, named ports, protocols and matchExpressions', () => {
    const policies = new NetworkPolicies([
      np('deny', { podSelector: {}, policyTypes: ['Egress'] }),
      np('p', {
        podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['web', 'other'] }] },
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }], ports: [{ port: 5000, endPort: 5432 }] },
          { to: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }, { key: 'role', operator: 'NotIn', values: ['other'] }] } }], ports: [{ protocol: 'UDP', port: 'http' }] },
        ],
      }),
    ]);
    expect(policies.allowed(web, db, 5432)).toBe(true);
    expect(policies.allowed(other, db, 5000)).toBe(true);
    expect(policies.allowed(web, db, 5433)).toBe(false);
    expect(policies.allowed(db, db, 5432)).toBe(false);
    expect(policies.allowed(other, web, 8080, 'UDP')).toBe(true);
    expect(policies.allowed(other, web, 8080)).toBe(false);
    expect(policies.allowed(web, other, 8080, 'UDP')).toBe(false);
  });

  it('finds selectors that select nothing', () => {
    const policies = new NetworkPolicies([
      np('typo', { podSelector: { matchLabels: { role: 'wbe' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'db' } } }, { podSelector: { matchLabels: { role: 'dbb' } } }] }] }),
    ]);
    expect(policies.unmatchedSelectors([web, db])).toEqual([
      'typo: podSelector selects no pod',
      'typo: ingress[0] peer {"podSelector":{"matchLabels":{"role":"dbb"}}} matches no pod',
    ]);
  });

  it('cidrContains', () => {
    expect(cidrContains('0.0.0.0/0', '203.0.113.7')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(cidrContains('192.0.2.7/32', '192.0.2.7')).toBe(true);
    expect(() => cidrContains('10.0.0.0/8', 'fe80::1')).toThrow(/IPv4/);
  });
});
