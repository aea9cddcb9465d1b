/**
 * Which cluster: the kubeconfig and its context, read the way kubectl reads them (--kubeconfig,
 * else $KUBECONFIG, else ~/.kube/config, else in-cluster) and without contacting anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

export interface KubeOptions {
  /** A kubeconfig file; else $KUBECONFIG, else ~/.kube/config, else in-cluster. */
  kubeconfig?: string;
  /** A context of it; else its current context. */
  context?: string;
  /** The kubectl binary (KUBECTL); kubectl on PATH by default. */
  kubectl?: string;
}

/**
 * The kubeconfig, read without contacting anything. Undefined (with the reason) when there
 * is none: client-node's own loadFromDefault would then quietly fall back to
 * http://localhost:8080, which is never what a deploy means.
 */
export function loadKubeConfig(options: KubeOptions = {}): { kc: k8s.KubeConfig } | { kc: undefined; why: string } {
  const kc = new k8s.KubeConfig();
  const env = process.env['KUBECONFIG'];
  const files = kubeconfigFiles(options);
  const present = files.filter((f) => existsSync(f));
  try {
    if (present.length > 0) {
      kc.loadFromFile(present[0]!);
      for (const more of present.slice(1)) {
        const other = new k8s.KubeConfig();
        other.loadFromFile(more);
        kc.mergeConfig(other, true);
      }
    } else if (!options.kubeconfig && !env && process.env['KUBERNETES_SERVICE_HOST']) {
      kc.loadFromCluster();
    } else {
      return { kc: undefined, why: `no kubeconfig (${files.join(', ')} ${files.length > 1 ? 'do' : 'does'} not exist)` };
    }
  } catch (error) {
    return { kc: undefined, why: `cannot read the kubeconfig: ${(error as Error).message}` };
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) return { kc: undefined, why: `the kubeconfig has no context "${options.context}"` };
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentContext()) return { kc: undefined, why: 'the kubeconfig has no current context' };
  return { kc };
}

/** The kubeconfig files kubectl would read: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. */
function kubeconfigFiles(options: KubeOptions): string[] {
  const env = process.env['KUBECONFIG'];
  return options.kubeconfig ? [options.kubeconfig] : env ? env.split(delimiter).filter(Boolean) : [join(homedir(), '.kube', 'config')];
}

const MINIKUBE_PROVIDER = 'minikube.sigs.k8s.io';

/**
 * Whether minikube wrote this context: minikube names the context after its profile
 * (`minikube -p dev` → context `dev`) and marks it with a `context_info` extension whose
 * provider is minikube.sigs.k8s.io. client-node drops extensions, so the files are read here.
 */
export function isMinikubeContext(context: string, options: KubeOptions = {}): boolean {
  for (const file of kubeconfigFiles(options).filter((f) => existsSync(f))) {
    let config: { contexts?: { name?: unknown; context?: { extensions?: { extension?: { provider?: unknown } }[] } }[] } | null;
    try {
      config = parseYaml(readFileSync(file, 'utf8')) as typeof config;
    } catch {
      continue;
    }
    const entry = config?.contexts?.find((c) => c?.name === context);
    if (entry) return (entry.context?.extensions ?? []).some((e) => e?.extension?.provider === MINIKUBE_PROVIDER);
  }
  return false;
}

/** The current context's name, or undefined; reads the kubeconfig only. */
export function currentContext(options: KubeOptions = {}): string | undefined {
  const loaded = loadKubeConfig(options);
  return loaded.kc?.getCurrentContext();
}
