/**
 * workloadProblems and referenceProblems on small objects: what they accept and what they catch.
 */
import { describe, expect, it } from 'vitest';
import { type K8sObject } from '../../cli/manifests/index.ts';
import { pod } from './pods.ts';
import { workloadProblems, referenceProblems } from './workload-checks.ts';

const hardened = {
  name: 'c',
  image: 'registry/x:1.0.0',
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
  securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
  readinessProbe: { tcpSocket: { port: 1 } },
  livenessProbe: { tcpSocket: { port: 1 } },
};

describe('workloadProblems and referenceProblems', () => {
  it('accept a hardened pod', () => {
    expect(workloadProblems([pod({ enableServiceLinks: false, containers: [hardened] })])).toEqual([]);
  });

  it('catch what is missing, init containers included', () => {
    const { resources: _r, securityContext: _s, ...bare } = hardened;
    const problems = workloadProblems([
      pod({
        containers: [{ ...bare, image: 'registry/x:latest', securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } } }],
        initContainers: [{ ...hardened, name: 'init', resources: { requests: { cpu: '1m' } } }],
      }),
    ]).map((p) => p.message);
    expect(problems).toEqual(
      expect.arrayContaining([
        'enableServiceLinks is not false: Service links put KAFKA_PORT and friends into the environment',
        'container c: image "registry/x:latest" uses the tag latest: pin a version or a digest',
        'container c: no cpu in resources.requests',
        'container c: no memory in resources.limits',
        'container c: runAsNonRoot is not true (pod or container)',
        'container c: runAsUser is not a numeric non-root uid (pod or container)',
        'container c: allowPrivilegeEscalation is not false',
        'container c: capabilities.drop does not include ALL',
        'container c: adds capabilities',
        'container c: seccompProfile is not RuntimeDefault (pod or container)',
        'container c: readOnlyRootFilesystem is not true',
        'init container init: no memory in resources.requests',
        'init container init: no cpu in resources.limits',
      ]),
    );
  });

  it('accept pod-level runAsNonRoot, runAsUser and seccomp, and want no probes on Jobs', () => {
    const { securityContext: _s, readinessProbe: _r, livenessProbe: _l, ...rest } = hardened;
    const container = { ...rest, securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } };
    const securityContext = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } };
    expect(workloadProblems([pod({ enableServiceLinks: false, securityContext, containers: [container] }, 'Job')])).toEqual([]);
    expect(workloadProblems([pod({ enableServiceLinks: false, securityContext, containers: [container] })]).map((p) => p.message)).toEqual([
      'container c: no readinessProbe',
      'container c: no livenessProbe',
    ]);
  });

  it('catch dangling references and $(VAR)s defined too late', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { A: '1' } } as K8sObject,
      pod({
        volumes: [
          { name: 'conf', configMap: { name: 'missing' } },
          { name: 'whole', secret: { secretName: 'kafka-tls' } },
          { name: 'ca', secret: { secretName: 'kafka-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'ca.pem', path: 'ca.pem' }] } },
          { name: 'other', secret: { secretName: 'unknown', items: [{ key: 'k', path: 'k' }] } },
        ],
        containers: [
          {
            name: 'c',
            envFrom: [{ configMapRef: { name: 'settings' } }],
            env: [
              { name: 'LATER_USED', value: 'x-$(DEFINED_LATER)' },
              { name: 'DEFINED_LATER', value: 'y' },
              { name: 'FROM_CONFIG', value: '$(A)' },
              { name: 'S', valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'password' } } },
              { name: 'T', valueFrom: { secretKeyRef: { name: 'unknown', key: 'k' } } },
              { name: 'K', valueFrom: { configMapKeyRef: { name: 'settings', key: 'B' } } },
            ],
            // $(date) is shell command substitution, not a variable reference.
            args: ['--x=$(DEFINED_LATER)', '--y=$(NOWHERE)', 'sh -c "$(date)"'],
            volumeMounts: [{ name: 'nope', mountPath: '/x' }],
          },
        ],
      }),
    ];
    expect(referenceProblems(objects).map((p) => p.message)).toEqual([
      'volume conf: ConfigMap missing is not among the objects',
      'volume whole: Secret kafka-tls mounted whole; list the keys it reads as items',
      'volume ca: key ca.pem, which Secret kafka-tls does not have',
      'volume other: Secret unknown is not in the documented Secrets',
      'container c: volumeMount of undeclared volume nope',
      'container c: env LATER_USED refers to $(DEFINED_LATER), which is not defined before it',
      'container c: env S reads key password, which Secret grafana-admin does not have',
      'container c: env T reads Secret unknown, which is not in the documented Secrets',
      'container c: env K reads key B, which ConfigMap settings does not have',
      'container c: args[1] refers to $(NOWHERE), which is not defined before it',
    ]);
  });
});
