/**
 * What a deploy applies: the platform's kustomization (PLATFORM) and the pipeline's
 * (KNATIVE), rendered. The pipeline follows the platform: an overlay of platform/ has its
 * pipeline in the knative/ overlay of the same name (its endpoints, credentials and CAs).
 */
import { existsSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { type K8sObject, render, repoRoot, validateObjects } from '../manifests/index.ts';
import { PlanError, type PlatformInput } from './plan.ts';

function isKustomization(path: string): boolean {
  return existsSync(join(path, 'kustomization.yaml')) || existsSync(join(path, 'kustomization.yml'));
}

/** knative/overlays/<name> when `platform` is platform/overlays/<name> and that overlay exists, else knative. */
export function knativeDirFor(platform: string, root: string = repoRoot): string {
  const overlay = /^platform\/overlays\/([^/]+)$/.exec(normalize(platform).replace(/\/$/, ''))?.[1];
  return overlay && isKustomization(join(root, 'knative', 'overlays', overlay)) ? `knative/overlays/${overlay}` : 'knative';
}

/** The pipeline's objects, which must validate before anything is planned. */
export function knativeObjects(dir: string, root: string = repoRoot): K8sObject[] {
  const objects = render(join(root, dir));
  const problems = validateObjects(objects);
  if (problems.length > 0) throw new PlanError(`${dir}/ does not validate:\n${problems.map((p) => `  ${p.object}: ${p.message}`).join('\n')}`);
  return objects;
}

/** The platform's objects, or why there are none (the plan then stops at its checks). */
export function platformInput(dir: string, root: string = repoRoot): PlatformInput {
  const path = join(root, dir);
  if (!isKustomization(path)) {
    return { dir, problem: `${dir}/ has no kustomization.yaml: the platform manifests (Kafka, Elasticsearch, Kibana, Prometheus, Grafana) are not there yet` };
  }
  try {
    return { dir, objects: render(path) };
  } catch (error) {
    return { dir, problem: (error as Error).message };
  }
}
