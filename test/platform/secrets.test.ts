/**
 * The Secrets the manifests read are the ones the deploy tool generates (plus, in the
 * production overlay, the certificates a CA issues), and platform/README.md documents them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuedSecretKeys } from '../../cli/deploy/secrets.ts';
import { base, kraft, production, knative, platformDir } from './fixtures.ts';
import { documentedSecrets, platformSecrets, secretReferences } from './secrets.ts';

describe('Secrets', () => {
  const used = (refs: { secret: string; key?: string }[]) => new Set(refs.map((r) => `${r.secret}/${r.key}`));

  it('the base, the KRaft overlay and knative/ read only Secrets and keys the deploy tool generates', () => {
    for (const { secret, key } of secretReferences([...base, ...kraft, ...knative])) expect(platformSecrets[secret], `${secret}/${key}`).toContain(key);
  });

  it('the production overlay reads generated keys and the issued certificates, nothing else', () => {
    const refs = secretReferences(production);
    for (const { secret, key } of refs) expect(documentedSecrets[secret], `${secret}/${key}`).toContain(key);
    const read = used(refs);
    for (const [secret, keys] of Object.entries(issuedSecretKeys)) for (const key of keys) expect(read.has(`${secret}/${key}`), `${secret}/${key} is never read`).toBe(true);
  });

  it('every generated key is read by some variant', () => {
    const read = used(secretReferences([...base, ...kraft, ...production, ...knative]));
    for (const [secret, keys] of Object.entries(platformSecrets)) for (const key of keys) expect(read.has(`${secret}/${key}`), `${secret}/${key} is never read`).toBe(true);
  });

  it('README.md documents every Secret and key', () => {
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');
    for (const [secret, keys] of Object.entries(documentedSecrets)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${secret}\``));
      expect(row, secret).toBeDefined();
      for (const key of keys) expect(row, `${secret}/${key}`).toContain(`\`${key}\``);
    }
  });
});
