/** KubeCluster's pure parts: reading conditions, kubectl's JSON output, which errors pass. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../manifests/index.ts';
import { parseJsonObjects } from './kube.ts';
import { toClusterError } from './kube-errors.ts';
import { isMinikubeContext, loadKubeConfig } from './kubeconfig.ts';
import { conditionStatus, deploymentStatus, jobStatus, statefulSetStatus } from './readiness.ts';

const obj = (kind: string, extra: Record<string, unknown>): K8sObject & { status?: Record<string, unknown> } => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
  kind,
  metadata: { name: 'x', generation: 2 },
  ...extra,
});

describe('readiness', () => {
  it('a Deployment is ready when the current generation is available at full size', () => {
    const status = { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 1, conditions: [{ type: 'Available', status: 'True' }] };
    expect(deploymentStatus(obj('Deployment', { spec: { replicas: 1 }, status })).done).toBe(true);
    expect(deploymentStatus(obj('Deployment', { spec: { replicas: 1 }, status: { ...status, observedGeneration: 1 } })).done).toBe(false);
    expect(deploymentStatus(obj('Deployment', { spec: { replicas: 2 }, status })).detail).toBe('x 1/2 available');
  });

  it('a StatefulSet is ready when every replica is ready and updated', () => {
    expect(statefulSetStatus(obj('StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1 } })).done).toBe(true);
    expect(statefulSetStatus(obj('StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 2, readyReplicas: 0 } })).detail).toBe('x 0/1 ready');
  });

  it('a failed Job fails the wait at once', () => {
    expect(jobStatus(obj('Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } })).done).toBe(true);
    expect(jobStatus(obj('Job', { status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } }))).toMatchObject({ done: false, failed: true });
  });

  it('Knative Ready needs the current generation and says why not', () => {
    const ksvc = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'enrich', generation: 1 } };
    expect(conditionStatus({ ...ksvc, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] } }, 'Ready').done).toBe(true);
    const failing = conditionStatus({ ...ksvc, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'RevisionFailed', message: 'ErrImagePull' }] } }, 'Ready');
    expect(failing).toEqual({ done: false, detail: 'Service/enrich Ready=False RevisionFailed: ErrImagePull' });
  });
});

describe('parseJsonObjects (kubectl apply -o json)', () => {
  it('reads a List, a single object, or objects one after another', () => {
    const a = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' }, data: { x: '{"}' } };
    const b = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'b', namespace: 'n' } };
    expect(parseJsonObjects(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [a, b] }, null, 2)).map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(parseJsonObjects(JSON.stringify(a)).map((o) => o.metadata.name)).toEqual(['a']);
    expect(parseJsonObjects(`${JSON.stringify(a, null, 4)}\n${JSON.stringify(b, null, 4)}\n`).map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment']);
  });
});

describe('toClusterError', () => {
  it('retries what passes: webhooks not serving yet, CRDs not registered yet, 5xx', () => {
    const webhook = new ApiException(500, 'HTTP-Code: 500', JSON.stringify({ message: 'Internal error occurred: failed calling webhook "webhook.serving.knative.dev"' }), {});
    expect(toClusterError('Service/enrich', webhook)).toMatchObject({ retryable: true, message: 'Service/enrich: Internal error occurred: failed calling webhook "webhook.serving.knative.dev" (HTTP 500)' });
    expect(toClusterError('x', new Error('Unrecognized API version and kind: sources.knative.dev/v1 KafkaSource')).retryable).toBe(true);
    // What client-node throws when a group is not served yet (seen against a real kube-apiserver).
    const discovery = new ApiException(404, 'Unknown API Status Code!', '404 page not found\n', {});
    discovery.message = `Failed to fetch resource metadata for serving.knative.dev/v1/Service: ${discovery.message}`;
    expect(toClusterError('Service/enrich', discovery)).toMatchObject({ retryable: true, message: 'Service/enrich: Failed to fetch resource metadata for serving.knative.dev/v1/Service: not served (yet) (HTTP 404)' });
    expect(toClusterError('x', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })).retryable).toBe(true);
  });

  it('does not retry what will not pass: validation, conflicts, forbidden', () => {
    expect(toClusterError('x', new ApiException(422, 'HTTP-Code: 422', { message: 'spec.template: Invalid value' }, {})).retryable).toBe(false);
    expect(toClusterError('x', new ApiException(409, 'HTTP-Code: 409', { message: 'Apply failed with 1 conflict: conflict with "kubectl-edit"' }, {})).retryable).toBe(false);
    expect(toClusterError('x', new ApiException(403, 'HTTP-Code: 403', { message: 'forbidden' }, {})).retryable).toBe(false);
  });
});

describe('loadKubeConfig', () => {
  it('has no context without a kubeconfig, instead of falling back to localhost:8080', () => {
    const before = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = '/nonexistent/kubeconfig';
    try {
      const loaded = loadKubeConfig();
      expect(loaded.kc).toBeUndefined();
      expect((loaded as { why: string }).why).toMatch(/no kubeconfig \(\/nonexistent\/kubeconfig does not exist\)/);
    } finally {
      if (before === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = before;
    }
  });
});

describe('isMinikubeContext', () => {
  // What `minikube start -p dev` writes next to a kind cluster's context (extensions as minikube writes them).
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://192.168.49.2:8443
    extensions:
    - extension:
        provider: minikube.sigs.k8s.io
        version: v1.37.0
      name: cluster_info
  name: dev
- cluster:
    server: https://127.0.0.1:41234
  name: kind-bdp
contexts:
- context:
    cluster: dev
    user: dev
    extensions:
    - extension:
        provider: minikube.sigs.k8s.io
        version: v1.37.0
      name: context_info
  name: dev
- context:
    cluster: kind-bdp
    user: kind-bdp
  name: kind-bdp
current-context: dev
users:
- name: dev
  user: {}
- name: kind-bdp
  user: {}
`;

  it('knows a minikube profile by its marker, whatever its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(file, kubeconfig);
      expect(isMinikubeContext('dev', { kubeconfig: file })).toBe(true);
      expect(isMinikubeContext('kind-bdp', { kubeconfig: file })).toBe(false);
      expect(isMinikubeContext('absent', { kubeconfig: file })).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
