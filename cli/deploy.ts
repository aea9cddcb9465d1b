/**
 * The cluster front door: `make deploy` (DRY_RUN=1 prints the plan), `make undeploy`,
 * `make status`, `make logs FN=…`, `make port-forward`, `make curl-local FN=…`.
 *
 *   npx tsx cli/deploy.ts [deploy|undeploy|images|status|logs|port-forward|curl-local] [--dry-run]
 *
 * Environment: REGISTRY (push there instead of kind/minikube), REGISTRY_SKIP_TAG_RESOLVING=1,
 * PLATFORM (the kustomization of the platform, default platform), KNATIVE (the pipeline's,
 * default the knative/ overlay named like PLATFORM's, else knative), FORCE=1 (take over
 * fields edited by hand), ALL=1 (undeploy Knative and KEDA too), YES=1 (no question),
 * KUBECONFIG / KUBE_CONTEXT (which cluster), KUBECTL, CONTAINER_TOOL (docker|podman), FN, TAIL,
 * FOLLOW, TYPE and DATA (make curl-local); a wrong value stops it before anything starts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { type K8sObject, PIPELINE_NAMESPACE, render, repoRoot } from './manifests/index.ts';
import { loadReleases } from './manifests/releases.ts';
import { choice, commandSettings, flag, isOn, kubeSettings } from './settings.ts';
import { DeployError, execute } from './deploy/execute.ts';
import { LocalHost } from './deploy/host.ts';
import { KubeCluster } from './deploy/kube.ts';
import { type KubeOptions, currentContext, isMinikubeContext, loadKubeConfig } from './deploy/kubeconfig.ts';
import { consolesOf, isKsvc } from './deploy/objects.ts';
import { knativeDirFor, knativeObjects, platformInput } from './deploy/inputs.ts';
import { PlanError, plan } from './deploy/plan.ts';
import { portForward } from './deploy/port-forward.ts';
import { sampleEvent } from './deploy/sample-event.ts';
import { formatPlan } from './deploy/steps.ts';
import { OFFSETS_WARNING, undeployPlan } from './deploy/undeploy.ts';

const USAGE = 'usage: npx tsx cli/deploy.ts [deploy|undeploy|images|status|logs|port-forward|curl-local] [--dry-run]';
const settings = commandSettings(
  {
    REGISTRY: Type.Optional(Type.String()),
    REGISTRY_SKIP_TAG_RESOLVING: flag(),
    PLATFORM: Type.String({ minLength: 1, default: 'platform' }),
    KNATIVE: Type.Optional(Type.String({ minLength: 1, description: 'the kustomization of the pipeline; default: knative/overlays/<name> when PLATFORM is platform/overlays/<name> and that overlay exists, else knative' })),
    DRY_RUN: flag(),
    FORCE: flag(),
    ALL: flag(),
    YES: flag(),
    ...kubeSettings,
    CONTAINER_TOOL: Type.Optional(choice('docker', 'podman')),
    FN: Type.Optional(Type.String()),
    // kubectl logs --tail: -1 is every line.
    TAIL: Type.Integer({ minimum: -1, default: 100 }),
    FOLLOW: flag(),
    TYPE: Type.Optional(Type.String()),
    DATA: Type.Optional(Type.String()),
  },
  USAGE,
);
const knativeDir = settings.KNATIVE ?? knativeDirFor(settings.PLATFORM);
const kubeOptions: KubeOptions = { kubectl: settings.KUBECTL, ...(settings.KUBE_CONTEXT ? { context: settings.KUBE_CONTEXT } : {}) };

function version(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function namespaceOf(objects: K8sObject[]): string {
  return objects.find((o) => o.kind === 'Namespace')?.metadata.name ?? PIPELINE_NAMESPACE;
}

/** kubectl with the same kubeconfig/context as the deploy, output straight to the terminal. */
function kubectl(args: string[]): Promise<number> {
  const cluster = new KubeCluster(kubeOptions);
  return new Promise((resolve) => {
    const child = spawn(settings.KUBECTL, [...cluster.kubectlArgs, ...args], { stdio: 'inherit' });
    child.on('error', (error) => {
      console.error(`kubectl: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function requireContext(): void {
  const loaded = loadKubeConfig(kubeOptions);
  if (!loaded.kc) throw new DeployError(`no cluster to talk to: ${loaded.why}`);
}

/** images/<name>.Dockerfile for a project image that is not a plain bundle (function.Dockerfile builds those). */
function ownDockerfiles(): Record<string, string> {
  const dir = join(repoRoot, 'images');
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.Dockerfile') && f !== 'function.Dockerfile')
      .map((f) => [f.slice(0, -'.Dockerfile'.length), `images/${f}`]),
  );
}

function deployPlan() {
  const context = currentContext(kubeOptions);
  return { context, steps: plan({
    version: version(),
    releases: loadReleases(),
    knativeObjects: knativeObjects(knativeDir),
    platform: platformInput(settings.PLATFORM),
    ...(context ? { context, minikube: isMinikubeContext(context, kubeOptions) } : {}),
    ...(settings.REGISTRY ? { registry: settings.REGISTRY } : {}),
    registrySkipsTagResolving: isOn(settings.REGISTRY_SKIP_TAG_RESOLVING),
    force: isOn(settings.FORCE),
    ...(settings.CONTAINER_TOOL ? { containerTool: settings.CONTAINER_TOOL } : {}),
    dockerfiles: ownDockerfiles(),
  }) };
}

async function deploy(dryRun: boolean): Promise<void> {
  const { context, steps } = deployPlan();
  if (dryRun) {
    console.log(`make deploy: the plan (${steps.length} steps; DRY_RUN: no cluster is touched)`);
    console.log(`context: ${context ?? '(none: kubeconfig not found or no current context)'}`);
    console.log(`manifests: PLATFORM=${settings.PLATFORM} KNATIVE=${knativeDir}\n`);
    console.log(formatPlan(steps));
    return;
  }
  const report = await execute(steps, new KubeCluster(kubeOptions), host(), { root: repoRoot });
  console.log(`deployed: ${report.steps} steps; secrets ${report.secrets.map((s) => `${s.name} ${s.outcome}`).join(', ')}`);
}

/** `make images`: only the image builds of the deploy plan (no cluster needed). */
async function images(dryRun: boolean): Promise<void> {
  const steps = deployPlan().steps.filter((s) => ['check:image-tool', 'check:bundles', 'check:platform-images'].includes(s.id) || s.kind === 'build');
  if (dryRun) {
    console.log(formatPlan(steps));
    return;
  }
  const unused = () => {
    throw new DeployError('make images needs no cluster');
  };
  const noCluster = { contextName: () => undefined, info: unused, apply: unused, applyObjects: unused, check: unused, getConfigMap: unused, getSecret: unused, createSecret: unused, delete: unused, deleteUrl: unused, access: unused };
  await execute(steps, noCluster, host(), { root: repoRoot });
}

async function confirm(question: string): Promise<boolean> {
  if (isOn(settings.YES)) return true;
  if (!process.stdin.isTTY) {
    console.error('not a terminal: say YES=1 to go ahead without the question');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

async function undeploy(dryRun: boolean): Promise<void> {
  const knative = knativeObjects(knativeDir);
  const steps = undeployPlan({ knativeObjects: knative, platform: platformInput(settings.PLATFORM), releases: loadReleases(), all: isOn(settings.ALL) });
  if (dryRun) {
    console.log(`make undeploy: the plan (${steps.length} steps; DRY_RUN: no cluster is touched)\n`);
    console.log(formatPlan(steps));
    return;
  }
  requireContext();
  const context = currentContext(kubeOptions);
  console.log(`\nmake undeploy deletes namespace ${namespaceOf(knative)} and everything in it on context ${context}.`);
  console.log(`\n  WARNING: ${OFFSETS_WARNING}\n`);
  if (isOn(settings.ALL)) console.log('  ALL=1: Knative Serving, Kourier, Eventing, Eventing Kafka and KEDA are uninstalled too.\n');
  if (!(await confirm('Delete?'))) {
    console.log('nothing deleted');
    process.exitCode = 1;
    return;
  }
  await execute(steps, new KubeCluster(kubeOptions), host(), { root: repoRoot });
}

async function status(): Promise<void> {
  requireContext();
  const ns = namespaceOf(render(join(repoRoot, knativeDir)));
  // kubectl, because it prints each CRD's own columns (READY, URL, consumers, lag, …).
  const views: [string, string[]][] = [
    ['Knative Services', ['get', 'ksvc', '-n', ns]],
    ['sources and sinks', ['get', 'kafkasources.sources.knative.dev,pingsources.sources.knative.dev,kafkasinks.eventing.knative.dev', '-n', ns]],
    ['consumer groups (consumers = replicas, set by KEDA)', ['get', 'consumergroups.internal.kafka.eventing.knative.dev', '-n', ns]],
    ['KEDA', ['get', 'scaledobjects.keda.sh,horizontalpodautoscalers', '-n', ns]],
    ['pods', ['get', 'pods', '-n', ns, '-o', 'wide']],
  ];
  let failed = 0;
  for (const [title, args] of views) {
    console.log(`\n== ${title}`);
    if ((await kubectl(args)) !== 0) failed++;
  }
  if (failed === views.length) process.exitCode = 1;
}

function functionName(knative: K8sObject[]): { fn: string; container: string } {
  const fn = settings.FN;
  const ksvcs = knative.filter(isKsvc);
  const ksvc = ksvcs.find((k) => k.metadata.name === fn);
  if (!ksvc) throw new DeployError(`FN must name a function: one of ${ksvcs.map((k) => k.metadata.name).join(', ')}`);
  const container = (ksvc['spec'] as { template: { spec: { containers: { name?: string }[] } } }).template.spec.containers[0]?.name ?? 'user-container';
  return { fn: ksvc.metadata.name, container };
}

async function logs(): Promise<void> {
  requireContext();
  const knative = render(join(repoRoot, knativeDir));
  const { fn, container } = functionName(knative);
  // The container is named in knative/<fn>.yaml; Knative calls it user-container only when unnamed.
  const args = ['logs', '-n', namespaceOf(knative), '-l', `serving.knative.dev/service=${fn}`, '-c', container, `--tail=${settings.TAIL}`, '--prefix', '--max-log-requests=20'];
  if (isOn(settings.FOLLOW)) args.push('-f');
  process.exitCode = await kubectl(args);
}

/** Local ports of the consoles: their usual ports, and 8090 for the dashboard (8080/8081 are Kourier's). */
const CONSOLE_PORTS: Record<string, number> = { kibana: 5601, grafana: 3000, prometheus: 9090, dashboard: 8090 };

async function portForwards(): Promise<void> {
  requireContext();
  const cluster = new KubeCluster(kubeOptions);
  const knative = render(join(repoRoot, knativeDir));
  const ns = namespaceOf(knative);
  const platform = platformInput(settings.PLATFORM);
  const consoles = platform.objects ? consolesOf(platform.objects) : [];
  const forwards = [
    ...consoles.map((c) => ({ label: c.name, namespace: ns, target: `svc/${c.service}`, remote: c.port, local: CONSOLE_PORTS[c.name] ?? c.port })),
    { label: 'kourier (public ksvc)', namespace: 'kourier-system', target: 'svc/kourier', remote: 80, local: 8080 },
    { label: 'kourier-internal (cluster-local ksvc)', namespace: 'kourier-system', target: 'svc/kourier-internal', remote: 80, local: 8081 },
  ];
  console.log(`port-forwards on 127.0.0.1 (Ctrl-C stops them):\n`);
  await Promise.all(
    forwards.map(async (f) => {
      const pf = portForward({ kubectl: settings.KUBECTL, kubectlArgs: cluster.kubectlArgs, namespace: f.namespace, target: f.target, remotePort: f.remote, localPort: f.local });
      try {
        const port = await pf.ready;
        console.log(`  ${f.label.padEnd(40)} http://127.0.0.1:${port}`);
      } catch (error) {
        console.log(`  ${f.label.padEnd(40)} failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }),
  );
  const fns = knative.filter(isKsvc);
  console.log(`\n  functions go through Kourier with their Host header (scale-to-zero included: the activator wakes them):`);
  for (const k of fns) {
    const local = k.metadata.labels?.['networking.knative.dev/visibility'] === 'cluster-local';
    console.log(`    curl -H "Host: ${k.metadata.name}.${ns}${local ? '.svc.cluster.local' : '.<domain from kubectl get ksvc>'}" http://127.0.0.1:${local ? 8081 : 8080} …`);
  }
  console.log(`  credentials: kubectl -n ${ns} get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d   (kibana: elasticsearch-credentials)\n`);
  await new Promise<void>((resolve) => process.on('SIGINT', () => resolve()));
}

async function curlLocal(): Promise<void> {
  requireContext();
  const knative = render(join(repoRoot, knativeDir));
  const { fn } = functionName(knative);
  const ns = namespaceOf(knative);
  // kourier-internal serves every ksvc (public ones too) at <fn>.<ns>.svc.cluster.local, and goes
  // through the activator when the function is scaled to zero (its private Service has no endpoints then).
  const target = 'svc/kourier-internal';
  const hostHeader = `${fn}.${ns}.svc.cluster.local`;
  const pf = portForward({ kubectl: settings.KUBECTL, kubectlArgs: new KubeCluster(kubeOptions).kubectlArgs, namespace: 'kourier-system', target, remotePort: 80 });
  const port = await pf.ready;
  const sample = sampleEvent(fn);
  const type = settings.TYPE ?? sample.type;
  const body = settings.DATA ?? JSON.stringify(sample.data);
  const id = `curl-local-${Date.now()}`;
  const headers = { host: hostHeader, 'ce-specversion': '1.0', 'ce-type': type, 'ce-source': '/make-curl-local', 'ce-id': id, 'ce-time': new Date().toISOString(), 'content-type': 'application/json' };
  console.log(`# through ${target} (kubectl -n kourier-system port-forward ${target} ${port}:80)`);
  console.log(`curl -i http://127.0.0.1:${port} ${Object.entries(headers).map(([k, v]) => `-H '${k}: ${v}'`).join(' ')} -d '${body}'\n`);
  const { request } = await import('node:http');
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        console.log(`HTTP ${res.statusCode}\n${text}`);
        if ((res.statusCode ?? 500) >= 300) process.exitCode = 1;
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  pf.stop();
}

function parseCommandLine() {
  return parseArgs({ args: process.argv.slice(2), options: { 'dry-run': { type: 'boolean', default: false } }, allowPositionals: true });
}

/** docker or podman on this machine, CONTAINER_TOOL first. */
function host(): LocalHost {
  return new LocalHost(repoRoot, settings.CONTAINER_TOOL);
}

const commands: Record<string, (dryRun: boolean) => Promise<void>> = {
  deploy,
  undeploy,
  images,
  status,
  logs,
  'port-forward': portForwards,
  'curl-local': curlLocal,
};

let args: ReturnType<typeof parseCommandLine>;
try {
  args = parseCommandLine();
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const dryRun = args.values['dry-run'] || isOn(settings.DRY_RUN);
const command = args.positionals[0] ?? 'deploy';
const run = commands[command];
if (!run) {
  console.error(`unknown command ${command}: one of ${Object.keys(commands).join(', ')}`);
  process.exit(2);
}
try {
  await run(dryRun);
} catch (error) {
  if (error instanceof DeployError || error instanceof PlanError || (error as Error).name === 'ManifestError') {
    console.error(`\n${command} failed: ${(error as Error).message}`);
    process.exit(1);
  }
  throw error;
}
process.exit(process.exitCode ?? 0);
