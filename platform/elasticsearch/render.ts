/**
 * The elasticsearch-setup Job's retention policy and index templates, rendered from
 * shared/elasticsearch.ts with the default names and retention, so the cluster gets the
 * templates the local setup puts. After a change there: npx tsx platform/elasticsearch/render.ts
 * (test/platform/elasticsearch.test.ts fails until the files agree).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, retentionConfig } from '../../shared/config.ts';
import { indexTemplates, retentionPolicy, retentionPolicyName } from '../../shared/elasticsearch.ts';
import { PIPELINE_NAMES } from '../../shared/topology.ts';

/** File name → body of the PUT that setup.sh sends with it. */
export function setupFiles(): Record<string, object> {
  const { EVENTS_RETENTION_DAYS } = loadConfig(retentionConfig, {});
  const policy = retentionPolicyName(PIPELINE_NAMES.EVENTS_INDEX);
  const files: Record<string, object> = { [`ilm-policy-${policy}.json`]: { policy: retentionPolicy(EVENTS_RETENTION_DAYS) } };
  for (const { name, ...body } of indexTemplates(PIPELINE_NAMES, policy)) files[`index-template-${name}.json`] = body;
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, body] of Object.entries(setupFiles())) writeFileSync(join(import.meta.dirname, file), `${JSON.stringify(body, null, 2)}\n`);
}
