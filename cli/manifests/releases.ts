/**
 * keda/releases.yaml: the pinned install manifests of KEDA and Knative, in install order,
 * and the settings the project changes in them. A setting is patched into the release's
 * YAML *before* it is applied, so no apply — first install, re-deploy or upgrade — ever
 * writes Knative's shipped value, not even for a moment (re-applying
 * eventing-kafka-controller.yaml as shipped switches `controller-autoscaler-keda` off,
 * which makes the controller delete every ScaledObject and reset every ConsumerGroup).
 *
 * Pure: the deploy tool fetches and applies, the local runtime reads the dispatcher
 * settings, and the tests patch the upstream files themselves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type K8sObject, ManifestError, dig, objectId, repoRoot } from './objects.ts';
import { DISPATCHER_DEFAULTS } from '../scaling/defaults.ts';

export interface ResourceList {
  cpu?: string;
  memory?: string;
}

/** One change to an object of a release, found by kind and name. */
export interface ReleasePatch {
  kind: string;
  name: string;
  /** ConfigMap keys to set. */
  data?: Record<string, string>;
  /** ConfigMap keys holding Java properties: `key=value` lines to set in them. */
  properties?: Record<string, Record<string, string>>;
  /** Deployment/StatefulSet: the container the env and resources below belong to. */
  container?: string;
  env?: Record<string, string>;
  resources?: { requests?: ResourceList; limits?: ResourceList };
}

export interface Release {
  name: string;
  version: string;
  url: string;
  serverSide: boolean;
  /** The namespace whose workloads to wait for after applying. */
  waitNamespace?: string;
  patches: ReleasePatch[];
}

const PATCH_KEYS = new Set(['kind', 'name', 'data', 'properties', 'container', 'env', 'resources']);

function stringMap(value: unknown, where: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ManifestError(`${where} must be a map`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function parsePatch(entry: unknown, where: string): ReleasePatch {
  if (entry === null || typeof entry !== 'object') throw new ManifestError(`${where}: a patch must be a map`);
  const record = entry as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!PATCH_KEYS.has(key)) throw new ManifestError(`${where}: unknown patch field "${key}"`);
  const kind = record['kind'];
  const name = record['name'];
  if (typeof kind !== 'string' || typeof name !== 'string') throw new ManifestError(`${where}: a patch needs kind and name`);
  const patch: ReleasePatch = { kind, name };
  if (record['data'] !== undefined) patch.data = stringMap(record['data'], `${where} data`);
  if (record['properties'] !== undefined) {
    patch.properties = Object.fromEntries(
      Object.entries(record['properties'] as Record<string, unknown>).map(([key, lines]) => [key, stringMap(lines, `${where} properties.${key}`)]),
    );
  }
  if (record['container'] !== undefined) patch.container = String(record['container']);
  if (record['env'] !== undefined) patch.env = stringMap(record['env'], `${where} env`);
  if (record['resources'] !== undefined) patch.resources = record['resources'] as ReleasePatch['resources'];
  const isConfigMap = kind === 'ConfigMap';
  if (isConfigMap && (patch.container || patch.env || patch.resources)) throw new ManifestError(`${where}: a ConfigMap patch sets data or properties only`);
  if (!isConfigMap && (patch.data || patch.properties)) throw new ManifestError(`${where}: data and properties are for ConfigMaps`);
  if (!isConfigMap && !patch.container) throw new ManifestError(`${where}: a ${kind} patch names its container`);
  return patch;
}

export function parseReleases(text: string, file = 'keda/releases.yaml'): Release[] {
  const list = dig(parseYaml(text), 'releases');
  if (!Array.isArray(list)) throw new ManifestError(`${file}: no releases list`);
  return list.map((entry, i): Release => {
    const name = dig(entry, 'name');
    const version = dig(entry, 'version');
    const url = dig(entry, 'url');
    if (typeof name !== 'string' || typeof version !== 'string' || typeof url !== 'string') throw new ManifestError(`${file}: release ${i} needs name, version and url`);
    if (!url.startsWith('https://') || !url.includes(`/${version}/`)) throw new ManifestError(`${file}: ${name}: the url must be https and pinned to ${version}`);
    const patches = dig(entry, 'patches') ?? [];
    if (!Array.isArray(patches)) throw new ManifestError(`${file}: ${name}: patches must be a list`);
    const release: Release = {
      name,
      version,
      url,
      serverSide: dig(entry, 'serverSide') === true,
      patches: patches.map((p, k) => parsePatch(p, `${file}: ${name} patch ${k}`)),
    };
    const waitNamespace = dig(entry, 'waitNamespace');
    if (typeof waitNamespace === 'string') release.waitNamespace = waitNamespace;
    return release;
  });
}

export function loadReleases(root: string = repoRoot): Release[] {
  const file = join(root, 'keda', 'releases.yaml');
  return parseReleases(readFileSync(file, 'utf8'), file);
}

/** Sets `key=value` lines in a Java properties text: an existing line is replaced, a missing one appended. */
export function setProperties(text: string, values: Record<string, string>): string {
  const lines = text.split('\n');
  for (const [key, value] of Object.entries(values)) {
    const at = lines.findIndex((line) => {
      const trimmed = line.trimStart();
      if (trimmed.startsWith('#') || trimmed.startsWith('!')) return false;
      return trimmed.split(/\s*[=:]\s*|\s+/, 1)[0] === key;
    });
    const indent = at >= 0 ? lines[at]!.slice(0, lines[at]!.length - lines[at]!.trimStart().length) : '';
    if (at >= 0) lines[at] = `${indent}${key}=${value}`;
    else {
      const end = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
      lines.splice(end, 0, `${key}=${value}`);
    }
  }
  return lines.join('\n');
}

/** Reads one property of a properties text (undefined when absent or commented out). */
export function getProperty(text: string, key: string): string | undefined {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (match && match[1] === key) return match[2];
  }
  return undefined;
}

function containerOf(object: K8sObject, name: string): Record<string, unknown> {
  const containers = dig(object, 'spec', 'template', 'spec', 'containers');
  const container = Array.isArray(containers) ? (containers as Record<string, unknown>[]).find((c) => c['name'] === name) : undefined;
  if (!container) throw new ManifestError(`${objectId(object)} has no container "${name}"`);
  return container;
}

/**
 * The release's objects with the patches applied (copies; the input stays as fetched). A
 * patch whose object or container the release does not have is an error: a renamed upstream
 * object must not silently lose our setting.
 */
export function patchRelease(objects: readonly K8sObject[], patches: readonly ReleasePatch[], release = 'the release'): K8sObject[] {
  const out = objects.map((o) => structuredClone(o));
  for (const patch of patches) {
    const matches = out.filter((o) => o.kind === patch.kind && o.metadata.name === patch.name);
    if (matches.length !== 1) throw new ManifestError(`${release} has ${matches.length === 0 ? 'no' : matches.length} ${patch.kind}/${patch.name}: the patch cannot be applied`);
    const target = matches[0]!;
    if (patch.data || patch.properties) {
      const data = ((target['data'] as Record<string, string> | undefined) ??= {});
      Object.assign(data, patch.data);
      for (const [key, values] of Object.entries(patch.properties ?? {})) {
        if (typeof data[key] !== 'string') throw new ManifestError(`${objectId(target)} of ${release} has no properties key "${key}"`);
        data[key] = setProperties(data[key], values);
      }
    }
    if (patch.container) {
      const container = containerOf(target, patch.container);
      if (patch.env) {
        const env = ((container['env'] as { name: string; value?: string; valueFrom?: unknown }[] | undefined) ??= []);
        for (const [name, value] of Object.entries(patch.env)) {
          const entry = env.find((e) => e.name === name);
          if (entry) {
            delete entry.valueFrom;
            entry.value = value;
          } else env.push({ name, value });
        }
      }
      if (patch.resources) container['resources'] = structuredClone(patch.resources);
    }
  }
  return out;
}

export interface DispatcherSettings {
  podCapacity: number;
  minReplicas: number;
  refreshPeriodS: number;
  maxPollRecords: number;
}

/** The KafkaSource dispatcher plane as the releases deploy it: upstream defaults with our patches. */
export function dispatcherSettings(releases: readonly Release[]): DispatcherSettings {
  const patches = releases.flatMap((r) => r.patches);
  const env = patches.find((p) => p.kind === 'Deployment' && p.name === 'kafka-controller')?.env ?? {};
  const consumer = patches.find((p) => p.kind === 'ConfigMap' && p.name === 'config-kafka-source-data-plane')?.properties?.['config-kafka-source-consumer.properties'] ?? {};
  const whole = (value: string | undefined, fallback: number, what: string) => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) throw new ManifestError(`keda/releases.yaml: ${what} must be a whole number, got "${value}"`);
    return Number(value);
  };
  return {
    podCapacity: whole(env['POD_CAPACITY'], DISPATCHER_DEFAULTS.podCapacity, 'POD_CAPACITY'),
    minReplicas: whole(env['DISPATCHERS_MIN_REPLICAS'], DISPATCHER_DEFAULTS.minReplicas, 'DISPATCHERS_MIN_REPLICAS'),
    refreshPeriodS: whole(env['AUTOSCALER_REFRESH_PERIOD'], DISPATCHER_DEFAULTS.refreshPeriodS, 'AUTOSCALER_REFRESH_PERIOD'),
    maxPollRecords: whole(consumer['max.poll.records'], DISPATCHER_DEFAULTS.maxPollRecords, 'max.poll.records'),
  };
}
