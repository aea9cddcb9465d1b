/**
 * The Secrets the manifests read are the ones the deploy tool generates, and
 * platform/README.md documents them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base, kraft, knative, platformDir } from './fixtures.ts';
import { platformSecrets, secretReferences } from './secrets.ts';

describe('Secrets', () => {
  it('the manifests (platform/ and knative/) read exactly the Secrets and keys the deploy tool generates', () => {
    const refs = secretReferences([...base, ...kraft, ...knative]);
    for (const { secret, key } of refs) expect(platformSecrets[secret], `${secret}/${key}`).toContain(key);
    const used = new Set(refs.map((r) => `${r.secret}/${r.key}`));
    for (const [secret, keys] of Object.entries(platformSecrets)) for (const key of keys) expect(used.has(`${secret}/${key}`), `${secret}/${key} is never read`).toBe(true);
  });

  it('README.md documents every Secret and key', () => {
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');
    for (const [secret, keys] of Object.entries(platformSecrets)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${secret}\``));
      expect(row, secret).toBeDefined();
      for (const key of keys) expect(row, `${secret}/${key}`).toContain(`\`${key}\``);
    }
  });
});
