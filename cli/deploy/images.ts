/**
 * The project's images in a deploy: their names (dev.local/big-data-pipeline/<name>:<version>
 * in the manifests, the same path under REGISTRY when pushed) and how they reach the cluster's
 * nodes (kind, minikube or a registry).
 */
import type { K8sObject } from '../manifests/index.ts';
import { objectId } from '../manifests/index.ts';
import type { ShipVia } from './steps.ts';

export const DOCKERFILE = 'images/function.Dockerfile';
export const DOCKER_IGNORE = 'images/function.Dockerfile.dockerignore';
/** Knative keeps these image references as they are (no registry lookup for a digest). */
export const LOCAL_REGISTRY = 'dev.local';
/** Knative Serving's built-in value of registries-skipping-tag-resolving. */
export const SKIP_TAG_RESOLVING_DEFAULT = 'kind.local,ko.local,dev.local';

export function localImage(fn: string, version: string): string {
  return `${LOCAL_REGISTRY}/big-data-pipeline/${fn}:${version}`;
}

export function registryImage(registry: string, fn: string, version: string): string {
  return `${registry.replace(/\/+$/, '')}/big-data-pipeline/${fn}:${version}`;
}

/** How images reach the cluster: REGISTRY wins; else kind-<cluster> → kind, a minikube context (named after its profile) → minikube. */
export function shipVia(context: string | undefined, registry: string | undefined, minikube = false): ShipVia | { type: 'none'; why: string } {
  if (registry) return { type: 'push', target: registry };
  if (context === undefined) return { type: 'from-context' };
  if (context.startsWith('kind-')) return { type: 'kind', cluster: context.slice('kind-'.length) };
  if (minikube || context === 'minikube') return { type: 'minikube', profile: context };
  return {
    type: 'none',
    why: `context "${context}" is neither kind-* nor a minikube profile, so the images cannot be loaded into the nodes: set REGISTRY=<registry the cluster pulls from> (e.g. make deploy REGISTRY=ghcr.io/you)`,
  };
}

const PROJECT_IMAGE = /^dev\.local\/big-data-pipeline\/([a-z0-9-]+):(.+)$/;

function imagesIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => imagesIn(v, found));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'image' && typeof v === 'string') found.push(v);
      else imagesIn(v, found);
    }
  }
  return found;
}

/** The project's own images (dev.local/big-data-pipeline/<name>:<tag>) the objects run. */
export function projectImages(objects: K8sObject[]): { name: string; tag: string; image: string; by: string }[] {
  return objects.flatMap((o) =>
    imagesIn(o['spec']).flatMap((image) => {
      const match = PROJECT_IMAGE.exec(image);
      return match ? [{ name: match[1]!, tag: match[2]!, image, by: objectId(o) }] : [];
    }),
  );
}

/** The objects with every project image pointed at the registry (copies; the input stays as rendered). */
export function withRegistry(objects: K8sObject[], registry: string): K8sObject[] {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const match = k === 'image' && typeof v === 'string' ? PROJECT_IMAGE.exec(v) : null;
        return [k, match ? registryImage(registry, match[1]!, match[2]!) : rewrite(v)];
      }),
    );
  };
  return objects.map((o) => rewrite(o) as K8sObject);
}

/** The ship step's line in the plan: the commands it will run. */
export function describeShip(image: string, fn: string, version: string, via: ShipVia, tool: string): string {
  switch (via.type) {
    case 'kind':
      return `${tool} save ${image} → kind load image-archive --name ${via.cluster}`;
    case 'minikube':
      return `minikube image load ${image} -p ${via.profile}`;
    case 'push': {
      const target = registryImage(via.target, fn, version);
      return `${tool} tag ${image} ${target} && ${tool} push ${target}`;
    }
    case 'from-context':
      return `${image}: kind load image-archive (context kind-*), minikube image load (a minikube profile), or push to REGISTRY; decided from the context at run time`;
  }
}
