/**
 * The Secrets the manifests may read: the ones the deploy tool generates before applying
 * platform/ (never in the manifests: they would commit a value), and the certificates of the
 * production overlay, which a certificate authority issues; by name with their keys.
 */
import { generatedSecrets, issuedSecretKeys, referencedSecrets } from '../../cli/deploy/secrets.ts';
import { type K8sObject, PIPELINE_NAMESPACE } from '../../cli/manifests/index.ts';

export const platformSecrets: Record<string, string[]> = Object.fromEntries(generatedSecrets(PIPELINE_NAMESPACE).map((s) => [s.name, Object.keys(s.data)]));

/** platformSecrets plus the issued keys: everything platform/README.md documents. */
export const documentedSecrets: Record<string, string[]> = { ...platformSecrets };
for (const [secret, keys] of Object.entries(issuedSecretKeys)) documentedSecrets[secret] = [...new Set([...(documentedSecrets[secret] ?? []), ...keys])];

/** Secret names and keys the objects read. */
export function secretReferences(objects: K8sObject[]): { secret: string; key?: string }[] {
  return referencedSecrets(objects).map(({ secret, key }) => (key === undefined ? { secret } : { secret, key }));
}
