/**
 * Kubernetes objects as the manifest model sees them: rendered from a kustomization with
 * `kubectl kustomize`, or parsed from multi-document YAML, each with at least apiVersion,
 * kind and metadata.name.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const PIPELINE_NAMESPACE = 'big-data-pipeline';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface Problem {
  /** kind/name */
  object: string;
  message: string;
}

/** How a check reports a problem with one object. */
export type Report = (object: K8sObject, message: string) => void;

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export function objectId(object: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** The value at a path in parsed YAML/JSON, or undefined when any step is missing. */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Renders one kustomization (a folder with kustomization.yaml) into its objects. */
export function render(dir: string): K8sObject[] {
  const kubectl = process.env['KUBECTL'] ?? 'kubectl';
  let output: string;
  try {
    output = execFileSync(kubectl, ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new ManifestError(`${kubectl} not found: install kubectl (≥ 1.27, with kustomize v5) or set KUBECTL`);
    throw new ManifestError(`${kubectl} kustomize ${dir} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
  return parseObjects(output, dir);
}

/** Multi-document YAML → objects; empty documents are skipped, anything else must look like a Kubernetes object. */
export function parseObjects(text: string, origin = 'input'): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new ManifestError(`${origin}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const name = dig(value, 'metadata', 'name');
    if (typeof dig(value, 'apiVersion') !== 'string' || typeof dig(value, 'kind') !== 'string' || typeof name !== 'string') {
      throw new ManifestError(`${origin}: a document without apiVersion, kind and metadata.name`);
    }
    objects.push(value as K8sObject);
  }
  return objects;
}
