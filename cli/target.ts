/**
 * Where `make load`, `make watch` and `make redrive` act: the local runtime (`make dev`) or
 * a cluster (`make deploy`). Everything those commands need goes through one interface,
 * PipelineTarget (target/pipeline-target.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { currentContext } from './deploy/kubeconfig.ts';
import { devPlatform } from './dev/platform.ts';
import { localPlatformSettings } from './local-platform.ts';
import { choice, kubeSettings, port } from './settings.ts';
import { ClusterTarget } from './target/cluster.ts';
import { LOCAL_STATE_FILE, LocalTarget } from './target/local.ts';
import type { PipelineTarget } from './target/pipeline-target.ts';

export const targetSettings = {
  /** Unset: detectTarget() decides. */
  TARGET: Type.Optional(choice('local', 'cluster')),
  ...localPlatformSettings,
  ...kubeSettings,
  CLUSTER_KAFKA_PORT: port(39092),
  CLUSTER_ES_PORT: port(39200),
  CLUSTER_GENERATE_PORT: port(38080),
  GENERATE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
} satisfies TProperties;

export type TargetSettings = Static<TObject<typeof targetSettings>>;

/** local while `make dev` is running (its state file is fresh), else cluster when a kube context exists. */
export function detectTarget(stateFile = LOCAL_STATE_FILE, now = Date.now(), hasContext = () => currentContext() !== undefined): 'local' | 'cluster' {
  if (existsSync(stateFile) && now - statSync(stateFile).mtimeMs < 10_000) return 'local';
  return hasContext() ? 'cluster' : 'local';
}

export function pipelineTarget(settings: TargetSettings): PipelineTarget {
  if ((settings.TARGET ?? detectTarget()) === 'local') return new LocalTarget(devPlatform(settings));
  return new ClusterTarget({
    kubectl: settings.KUBECTL,
    ...(settings.KUBE_CONTEXT ? { context: settings.KUBE_CONTEXT } : {}),
    ports: { kafka: settings.CLUSTER_KAFKA_PORT, elasticsearch: settings.CLUSTER_ES_PORT, generate: settings.CLUSTER_GENERATE_PORT },
    ...(settings.GENERATE_URL ? { generateUrl: settings.GENERATE_URL } : {}),
  });
}
