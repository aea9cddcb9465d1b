/**
 * Carries out a plan, step by step, against a Cluster and a Host. All the control flow of
 * `make deploy` lives here: retries of applies that fail for a reason that passes (a
 * webhook not serving yet, a CRD just created), polling waits with a deadline and a clear
 * message when it passes, create-if-absent Secrets, the choice of docker or podman.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pRetry, { AbortError } from 'p-retry';
import { type K8sObject, parseObjects } from '../manifests/index.ts';
import { patchRelease } from '../manifests/releases.ts';
import { type IssuedCertificate, issueCertificate } from './certificates.ts';
import { registryImage, shipVia } from './images.ts';
import { printSummary } from './summary.ts';
import { type Action, type Cluster, ClusterError, type Host, type ObjectRef, type ShipVia, type Step, type WaitFor, type WaitStatus, describeRef, describeWait } from './steps.ts';

export class DeployError extends Error {
  override name = 'DeployError';
}

export interface ExecuteOptions {
  /** Where relative paths (bundles, Dockerfile) are resolved and images are built from. */
  root: string;
  /** Attempts of one apply/delete that fails with a retryable error. */
  attempts?: number;
  /** The first pause before trying again; it doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  pollMs?: number;
  /** How often a wait still pending says so. */
  progressEveryMs?: number;
  /** The pause between polls of a wait, and its clock (tests move both by hand). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** n random alphanumeric characters. */
  random?: (length: number) => string;
}

export interface ExecuteReport {
  steps: number;
  secrets: { name: string; outcome: 'created' | 'kept' }[];
  /** What each release install reported having applied. */
  applied: Map<string, ObjectRef[]>;
}

export async function execute(steps: Step[], cluster: Cluster, host: Host, options: ExecuteOptions): Promise<ExecuteReport> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const random = options.random ?? randomAlphanumeric;
  const attempts = options.attempts ?? 6;
  const retryDelayMs = options.retryDelayMs ?? 2000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const pollMs = options.pollMs ?? 2000;
  const progressEveryMs = options.progressEveryMs ?? 15_000;
  const report: ExecuteReport = { steps: 0, secrets: [], applied: new Map() };
  let tool: 'docker' | 'podman' | undefined;
  const width = String(steps.length).length;

  /** A retryable ClusterError is tried again, with back-off, up to `attempts` times; any other error ends it at once. */
  function withRetries<T>(what: string, run: () => Promise<T>): Promise<T> {
    const attempt = () =>
      run().catch((error: unknown) => {
        if (error instanceof ClusterError && error.retryable) throw error;
        throw new AbortError(new DeployError(`${what}: ${error instanceof Error ? error.message : String(error)}`));
      });
    return pRetry(attempt, {
      retries: attempts - 1,
      minTimeout: retryDelayMs,
      maxTimeout: maxRetryDelayMs,
      factor: 2,
      onFailedAttempt: ({ error, retriesLeft, retriesConsumed }) => {
        // The pause p-retry takes next (minTimeout × factor^retries so far, capped); it does not say it.
        const delay = Math.min(retryDelayMs * 2 ** retriesConsumed, maxRetryDelayMs);
        if (retriesLeft > 0) host.log(`      not yet (${firstLine(error.message)}); again in ${Math.round(delay / 1000)} s`);
      },
    }).catch((error: unknown) => {
      if (error instanceof DeployError) throw error;
      throw new DeployError(`${what}: still failing after ${attempts} attempts: ${(error as Error).message}`);
    });
  }

  async function wait(waits: WaitFor[], timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    let lastProgress = now();
    let pending = waits;
    for (;;) {
      const statuses = await Promise.all(
        pending.map((w) =>
          cluster.check(w, report.applied).catch((error: unknown): WaitStatus => {
            // The API server briefly away is "not yet"; anything else is a real problem.
            if (error instanceof ClusterError && error.retryable) return { done: false, detail: error.message };
            throw new DeployError(`${describeWait(w)}: ${error instanceof Error ? error.message : String(error)}`);
          }),
        ),
      );
      const failed = statuses.findIndex((s) => s.failed);
      if (failed >= 0) throw new DeployError(`${describeWait(pending[failed]!)} failed: ${statuses[failed]!.detail}`);
      const still = pending.map((w, i) => ({ w, detail: statuses[i]!.detail })).filter((_, i) => !statuses[i]!.done);
      if (still.length === 0) return;
      if (now() >= deadline) {
        throw new DeployError(
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${still.map(({ w, detail }) => `${describeWait(w)} (${detail})`).join('; ')}`,
        );
      }
      if (now() - lastProgress >= progressEveryMs) {
        lastProgress = now();
        host.log(`      waiting for ${still.map(({ w, detail }) => `${describeWait(w)}: ${detail}`).join('; ')}`);
      }
      pending = still.map(({ w }) => w);
      await sleep(pollMs);
    }
  }

  async function imageTool(): Promise<'docker' | 'podman'> {
    if (tool) return tool;
    const found = await host.containerTool();
    if (!found.tool) throw new DeployError(found.why);
    tool = found.tool;
    return tool;
  }

  async function run(command: string, args: string[]): Promise<string> {
    const result = await host.run(command, args);
    if (result.code !== 0) {
      throw new DeployError(`${command} ${args.join(' ')} failed (exit ${result.code}): ${tail(result.stderr || result.stdout)}`);
    }
    return result.stdout;
  }

  async function ship(image: string, via: ShipVia): Promise<void> {
    if (via.type === 'from-context') {
      const resolved = shipVia(cluster.contextName(), undefined, cluster.isMinikube?.() ?? false);
      if (resolved.type === 'none' || resolved.type === 'from-context') {
        throw new DeployError(resolved.type === 'none' ? resolved.why : 'no current kube context to decide where the images go');
      }
      return ship(image, resolved);
    }
    const t = await imageTool();
    // kind takes an archive from either tool: `kind load docker-image` fails on Docker's
    // containerd image store, the default since Docker 29 (kind#3795). minikube reads docker's
    // image store directly; from podman it takes an archive.
    const archive = async (): Promise<string> => {
      const file = join(tmpdir(), `${image.replaceAll(/[/:]/g, '_')}.tar`);
      await run(t, ['save', '-o', file, image]);
      return file;
    };
    switch (via.type) {
      case 'kind':
        await run('kind', ['load', 'image-archive', await archive(), '--name', via.cluster]);
        return;
      case 'minikube':
        await run('minikube', ['image', 'load', t === 'docker' ? image : await archive(), '-p', via.profile]);
        return;
      case 'push': {
        const [, fn, version] = /\/big-data-pipeline\/([^:/]+):(.+)$/.exec(image) ?? [];
        if (!fn || !version) throw new DeployError(`cannot derive the registry name of ${image}`);
        const target = registryImage(via.target, fn, version);
        await run(t, ['tag', image, target]);
        await run(t, ['push', target]);
        return;
      }
    }
  }

  async function perform(action: Action): Promise<string | undefined> {
    switch (action.type) {
      case 'check-kubectl':
        if (!(await host.has('kubectl'))) throw new DeployError('kubectl is not installed: install it (≥ 1.27, it carries kustomize v5) and make sure it is on PATH');
        return undefined;
      case 'check-context': {
        const context = cluster.contextName();
        if (!context) {
          throw new DeployError(
            'no current kube context: create a cluster (e.g. kind create cluster --name bdp) or pick one with kubectl config use-context NAME (KUBECONFIG selects the file)',
          );
        }
        return context;
      }
      case 'check-cluster': {
        const info = await cluster.info().catch((error: unknown) => {
          throw new DeployError(`cannot reach the cluster of context ${cluster.contextName() ?? '?'}: ${error instanceof Error ? error.message : String(error)}`);
        });
        if (info.minor < action.minMinor) {
          host.log(`      warning: Kubernetes ${info.version} is older than 1.${action.minMinor}; the Knative webhooks refuse to start below their minimum version`);
        }
        return `${info.version} at ${info.server}`;
      }
      case 'check-image-tool':
        return imageTool();
      case 'check-tool':
        if (!(await host.has(action.tool))) throw new DeployError(`${action.tool} is not installed, and it is needed because ${action.why}`);
        return undefined;
      case 'check-files': {
        const missing = action.paths.filter((p) => !host.exists(join(options.root, p)));
        if (missing.length > 0) throw new DeployError(`missing ${missing.join(', ')}: ${action.hint}`);
        return undefined;
      }
      case 'fail':
        throw new DeployError(action.message);
      case 'apply-release': {
        const text = await withRetries(`fetch ${action.url}`, () => host.fetchText(action.url));
        const objects = patchRelease(parseObjects(text, action.url), action.patches, `${action.release} (${action.url})`);
        const refs = await withRetries(`install ${action.release}`, () => cluster.applyObjects(objects, { serverSide: action.serverSide }));
        report.applied.set(action.release, refs);
        return `${refs.length} objects${action.patches.length > 0 ? `, ${action.patches.length} patched` : ''}`;
      }
      case 'apply': {
        if (action.objects.length === 0) return 'nothing to apply';
        await withRetries(`apply ${summarize(action.objects)}`, () => cluster.apply(action.objects, { force: action.force }));
        return `${action.objects.length} objects`;
      }
      case 'ensure-list': {
        const data = await withRetries(`read ${action.namespace}/${action.configMap}`, () => cluster.getConfigMap(action.namespace, action.configMap));
        const current = data?.[action.key] ?? action.whenAbsent;
        const entries = current.split(',').map((e) => e.trim()).filter(Boolean);
        const missing = action.entries.filter((e) => !entries.includes(e));
        if (missing.length === 0) return `already ${current}`;
        const value = [...entries, ...missing].join(',');
        const patch: K8sObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: action.configMap, namespace: action.namespace }, data: { [action.key]: value } };
        await withRetries(`apply ${action.namespace}/${action.configMap}`, () => cluster.apply([patch], { force: true }));
        return `now ${value}`;
      }
      case 'wait':
        if (action.waits.length === 0) return 'nothing to wait for';
        await wait(action.waits, action.timeoutMs);
        return undefined;
      case 'build-image': {
        const t = await imageTool();
        const args = ['build', '-f', action.dockerfile, '--build-arg', `FUNCTION=${action.fn}`, '-t', action.image];
        // docker (BuildKit) finds <Dockerfile>.dockerignore by itself; podman is told.
        if (t === 'podman') args.push('--ignorefile', action.ignoreFile);
        args.push(action.context);
        await run(t, args);
        return action.image;
      }
      case 'ship-image':
        await ship(action.image, action.via);
        return undefined;
      case 'secret': {
        const existing = await withRetries(`read Secret ${action.name}`, () => cluster.getSecret(action.namespace, action.name));
        if (existing) {
          const missing = Object.keys(action.data).filter((k) => !(k in existing));
          if (missing.length > 0) host.log(`      warning: ${action.name} exists without ${missing.join(', ')}; left as it is (delete it to have it generated again)`);
          report.secrets.push({ name: action.name, outcome: 'kept' });
          return 'exists: kept';
        }
        const data = await secretData(action);
        const outcome = await withRetries(`create Secret ${action.name}`, () => cluster.createSecret(action.namespace, action.name, data, action.labels));
        report.secrets.push({ name: action.name, outcome: outcome === 'created' ? 'created' : 'kept' });
        return outcome === 'created' ? 'created' : 'created meanwhile by someone else: kept';
      }
      case 'summary':
        printSummary(action, await cluster.access(action.namespace), host);
        return undefined;
      case 'message':
        host.log(`      ${action.text}`);
        return undefined;
      case 'delete':
        for (const ref of action.refs) await withRetries(`delete ${describeRef(ref)}`, () => cluster.delete(ref));
        return `${action.refs.length} objects`;
      case 'delete-url':
        await withRetries('uninstall', () => cluster.deleteUrl(action.url));
        return undefined;
    }
  }

  /** A Secret's values: random ones drawn, PEM issued by the CA read back from its own Secret. */
  async function secretData(action: Extract<Action, { type: 'secret' }>): Promise<Record<string, string>> {
    let ca: IssuedCertificate | undefined;
    if (action.issuer) {
      const found = await withRetries(`read Secret ${action.issuer}`, () => cluster.getSecret(action.namespace, action.issuer!));
      if (!found?.['tls.crt'] || !found['tls.key']) throw new DeployError(`${action.name} is issued by the CA in Secret ${action.issuer}, which has no tls.crt and tls.key`);
      ca = { certificate: found['tls.crt'], key: found['tls.key'] };
    }
    const own = action.certificate ? issueCertificate(action.certificate, ca) : undefined;
    const pem = (part: 'certificate' | 'key' | 'ca'): string => {
      const value = part === 'ca' ? ca?.certificate : own?.[part];
      if (value === undefined) throw new DeployError(`${action.name}: no ${part === 'ca' ? 'issuer' : 'certificate'} to take its ${part} from`);
      return value;
    };
    return Object.fromEntries(Object.entries(action.data).map(([k, v]) => [k, 'value' in v ? v.value : 'random' in v ? random(v.random) : pem(v.pem)]));
  }

  for (const [i, step] of steps.entries()) {
    const started = now();
    host.log(`[${String(i + 1).padStart(width)}/${steps.length}] ${step.kind.padEnd(9)} ${step.id}  ${step.description}`);
    let outcome: string | undefined;
    try {
      outcome = await perform(step.action);
    } catch (error) {
      if (error instanceof DeployError) throw new DeployError(`step ${step.id}: ${error.message}`);
      throw error;
    }
    report.steps++;
    const seconds = (now() - started) / 1000;
    host.log(`      ok${outcome ? `: ${outcome}` : ''}${seconds >= 1 ? ` (${seconds.toFixed(0)} s)` : ''}`);
  }
  return report;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Alphanumeric, so a value is safe in a URL, a shell script and a config file alike; unbiased (rejection sampling). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

function summarize(objects: K8sObject[]): string {
  const shown = objects.slice(0, 4).map((o) => `${o.kind}/${o.metadata.name}`);
  return objects.length > 4 ? `${shown.join(', ')} and ${objects.length - 4} more` : shown.join(', ');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 200);
}

function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-8).join('\n');
}
