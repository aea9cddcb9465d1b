/**
 * Checks of the workloads in platform/ that no schema can see: hardening (resources,
 * non-root security contexts, probes, pinned images) and references that would only fail
 * at run time (volumes, ConfigMaps, Secret keys, $(VAR)s).
 */
import { type K8sObject, type Problem, dig, imagePinProblem, objectId } from '../../cli/manifests/index.ts';
import { asArray, asRecord, containersOf, podTemplateOf, stringMap } from './pods.ts';
import { documentedSecrets } from './secrets.ts';

/**
 * Per container (init containers too): pinned image, cpu and memory requests and limits, a
 * non-root security context (runAsNonRoot and a numeric non-zero runAsUser at pod or
 * container level, allowPrivilegeEscalation false, all capabilities dropped, seccomp
 * RuntimeDefault, not privileged, read-only root filesystem); per pod: no service links
 * (a Service named kafka would leak KAFKA_* variables), fsGroup when it mounts volume
 * claims; readiness and liveness probes on long-running containers.
 */
export function workloadProblems(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const id = objectId(object);
    const add = (message: string) => problems.push({ object: id, message });
    const pod = template.spec;
    const podSecurity = asRecord(pod['securityContext']) ?? {};

    if (pod['enableServiceLinks'] !== false) add('enableServiceLinks is not false: Service links put KAFKA_PORT and friends into the environment');
    const claims = asArray(dig(object, 'spec', 'volumeClaimTemplates')).length > 0 || asArray(pod['volumes']).some((v) => dig(v, 'persistentVolumeClaim') !== undefined);
    if (claims && typeof podSecurity['fsGroup'] !== 'number') add('mounts a volume claim but sets no numeric fsGroup');

    const longRunning = object.kind !== 'Job' && object.kind !== 'CronJob';
    for (const { container, init } of containersOf(pod)) {
      const name = `${init ? 'init container' : 'container'} ${String(container['name'])}`;
      const image = typeof container['image'] === 'string' ? container['image'] : undefined;
      const pin = image === undefined ? 'has no image' : imagePinProblem(image);
      if (pin) add(`${name}: ${pin}`);

      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (dig(container, 'resources', kind, resource) === undefined) add(`${name}: no ${resource} in resources.${kind}`);
        }
      }

      const security = asRecord(container['securityContext']) ?? {};
      const effective = (field: string): unknown => security[field] ?? podSecurity[field];
      if (effective('runAsNonRoot') !== true) add(`${name}: runAsNonRoot is not true (pod or container)`);
      const user = effective('runAsUser');
      if (typeof user !== 'number' || user === 0) add(`${name}: runAsUser is not a numeric non-root uid (pod or container)`);
      if (security['allowPrivilegeEscalation'] !== false) add(`${name}: allowPrivilegeEscalation is not false`);
      if (security['privileged'] === true) add(`${name}: privileged`);
      if (!asArray(dig(security, 'capabilities', 'drop')).includes('ALL')) add(`${name}: capabilities.drop does not include ALL`);
      if (asArray(dig(security, 'capabilities', 'add')).length > 0) add(`${name}: adds capabilities`);
      if (dig(effective('seccompProfile'), 'type') !== 'RuntimeDefault') add(`${name}: seccompProfile is not RuntimeDefault (pod or container)`);
      if (security['readOnlyRootFilesystem'] !== true) add(`${name}: readOnlyRootFilesystem is not true`);

      if (longRunning && !init) {
        for (const probe of ['readinessProbe', 'livenessProbe']) if (container[probe] === undefined) add(`${name}: no ${probe}`);
      }
    }
  }
  return problems;
}

/**
 * References that would fail at run time: volumeMounts of undeclared volumes, ConfigMap
 * volumes and configMapKeyRef/configMapRef of ConfigMaps not among the objects, secretKeyRef
 * and Secret volumes (which must list their items) of Secrets or keys not in `secrets`, and
 * $(VAR) references in env values, command and args that name no variable defined before
 * them (Kubernetes leaves those as literal text).
 */
export function referenceProblems(objects: K8sObject[], secrets: Record<string, string[]> = documentedSecrets): Problem[] {
  const problems: Problem[] = [];
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, Object.keys(stringMap(o['data']))]));
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const add = (message: string) => problems.push({ object: objectId(object), message });
    const pod = template.spec;
    const volumes = new Set([
      ...asArray(pod['volumes']).map((v) => String(dig(v, 'name'))),
      ...asArray(dig(object, 'spec', 'volumeClaimTemplates')).map((v) => String(dig(v, 'metadata', 'name'))),
    ]);
    for (const volume of asArray(pod['volumes'])) {
      const configMap = dig(volume, 'configMap', 'name');
      if (typeof configMap === 'string' && !configMaps.has(configMap)) add(`volume ${String(dig(volume, 'name'))}: ConfigMap ${configMap} is not among the objects`);
      const secret = dig(volume, 'secret', 'secretName');
      if (secret !== undefined) {
        // Items named one by one: a client mounts the CA of a certificate Secret, never its key.
        const items = asArray(dig(volume, 'secret', 'items')).map((i) => String(dig(i, 'key')));
        const keys = secrets[String(secret)];
        if (!keys) add(`volume ${String(dig(volume, 'name'))}: Secret ${String(secret)} is not in the documented Secrets`);
        else if (items.length === 0) add(`volume ${String(dig(volume, 'name'))}: Secret ${String(secret)} mounted whole; list the keys it reads as items`);
        for (const key of items) if (keys && !keys.includes(key)) add(`volume ${String(dig(volume, 'name'))}: key ${key}, which Secret ${String(secret)} does not have`);
      }
    }
    for (const { container } of containersOf(pod)) {
      const name = String(container['name']);
      for (const mount of asArray(container['volumeMounts'])) {
        const volume = String(dig(mount, 'name'));
        if (!volumes.has(volume)) add(`container ${name}: volumeMount of undeclared volume ${volume}`);
      }
      const defined = new Set<string>();
      for (const source of asArray(container['envFrom'])) {
        const ref = dig(source, 'configMapRef', 'name');
        if (typeof ref === 'string') {
          const keys = configMaps.get(ref);
          if (keys === undefined) add(`container ${name}: envFrom ConfigMap ${ref} is not among the objects`);
          for (const key of keys ?? []) defined.add(key);
        }
        if (dig(source, 'secretRef') !== undefined) add(`container ${name}: envFrom a Secret; use secretKeyRef with a documented Secret`);
      }
      // Upper-case names only: $(date) in a shell script is command substitution, which
      // Kubernetes leaves alone when no variable of that name exists.
      const unresolved = (text: string, where: string) => {
        for (const match of text.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)) {
          if (!defined.has(match[1]!)) add(`container ${name}: ${where} refers to $(${match[1]!}), which is not defined before it`);
        }
      };
      for (const entry of asArray(container['env'])) {
        const envName = String(dig(entry, 'name'));
        const value = dig(entry, 'value');
        if (typeof value === 'string') unresolved(value, `env ${envName}`);
        const secret = asRecord(dig(entry, 'valueFrom', 'secretKeyRef'));
        if (secret) {
          const keys = secrets[String(secret['name'])];
          if (!keys) add(`container ${name}: env ${envName} reads Secret ${String(secret['name'])}, which is not in the documented Secrets`);
          else if (!keys.includes(String(secret['key']))) add(`container ${name}: env ${envName} reads key ${String(secret['key'])}, which Secret ${String(secret['name'])} does not have`);
        }
        const configMapKey = asRecord(dig(entry, 'valueFrom', 'configMapKeyRef'));
        if (configMapKey) {
          const keys = configMaps.get(String(configMapKey['name']));
          if (keys === undefined) add(`container ${name}: env ${envName} reads ConfigMap ${String(configMapKey['name'])}, which is not among the objects`);
          else if (!keys.includes(String(configMapKey['key']))) add(`container ${name}: env ${envName} reads key ${String(configMapKey['key'])}, which ConfigMap ${String(configMapKey['name'])} does not have`);
        }
        defined.add(envName);
      }
      for (const field of ['command', 'args']) {
        asArray(container[field]).forEach((part, i) => {
          if (typeof part === 'string') unresolved(part, `${field}[${i}]`);
        });
      }
    }
  }
  return problems;
}
