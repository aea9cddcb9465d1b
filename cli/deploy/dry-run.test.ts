/** `make deploy DRY_RUN=1` prints the plan and touches no cluster: there is none to touch here. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../manifests/index.ts';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'cli/deploy.ts', ...args],
      // No kubeconfig, and nothing on the way to an API server even if one were guessed.
      { cwd: repoRoot, env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', KUBERNETES_SERVICE_HOST: '', HTTPS_PROXY: 'http://127.0.0.1:9', REGISTRY: '', DRY_RUN: '', PLATFORM: 'platform', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('cli/deploy.ts --dry-run', () => {
  it('prints the ordered plan and exits 0 without a cluster', async () => {
    const { code, stdout, stderr } = await run(['--dry-run']);
    expect(stderr.replace(/npm warn.*\n?/g, '')).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/DRY_RUN: no cluster is touched/);
    expect(stdout).toMatch(/context: \(none/);
    const order = ['check:kubectl', 'install:keda', 'install:serving-crds', 'install:serving-core', 'configure:config-deployment', 'install:eventing-kafka-sink', 'apply:namespace', 'secret:elasticsearch-credentials', 'build:generate', 'ship:generate', 'apply:platform', 'wait:platform', 'apply:services', 'wait:services', 'apply:kafka-sources', 'wait:kafka-sources', 'apply:ping-sources', 'print:summary'];
    const positions = order.map((id) => stdout.indexOf(` ${id} `));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  }, 60_000);

  it('with the production platform, applies the production pipeline and issues its certificates: a plan with nothing to stop it', async () => {
    const { code, stdout } = await run(['--dry-run'], { PLATFORM: 'platform/overlays/production' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/manifests: PLATFORM=platform\/overlays\/production KNATIVE=knative\/overlays\/production/);
    expect(stdout).not.toMatch(/will stop here/);
    expect(stdout).toMatch(/secret:big-data-pipeline-ca .*a new certificate authority/);
    expect(stdout).toMatch(/secret:kafka-tls .*a certificate of big-data-pipeline-ca for kafka\.big-data-pipeline\.svc\.cluster\.local/);
  }, 60_000);

  it('prints the undeploy plan, offsets warning first', async () => {
    const { code, stdout } = await run(['undeploy', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/1\. print\s+print:offsets[^\n]*\n\s+Deleting a KafkaSource deletes its consumer group/);
  }, 60_000);
});
