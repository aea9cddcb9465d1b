/**
 * Every script the Makefile runs with tsx (`npx tsx`, or `node --import tsx`) loads under Node's own ESM loader, as `make` runs
 * it — not only through the bundler or vitest, which both forgive a named import Node
 * cannot link (kafkajs spreads its error classes into module.exports, where Node's
 * CommonJS export detection cannot see them).
 *
 * Node links a module's whole import graph before it evaluates any of it, so a wrapper that
 * first imports a module calling process.exit(0), then the entry point, proves that every
 * import of the entry point resolves and links — without running a line of it (no Kafka
 * started, no cluster contacted).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/manifests/index.ts';

const dir = join(repoRoot, '.run', 'entrypoints');
mkdirSync(dir, { recursive: true });
const stop = join(dir, 'stop.mjs');
writeFileSync(stop, 'process.exit(0);\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `entry` the way `npx tsx entry` does, stopping before it runs. */
function link(entry: string): { status: number | null; stderr: string } {
  const wrapper = join(dir, `${entry.replaceAll('/', '_')}.mjs`);
  writeFileSync(wrapper, `import ${JSON.stringify(pathToFileURL(stop).href)};\nimport ${JSON.stringify(pathToFileURL(join(repoRoot, entry)).href)};\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', wrapper], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

const entries = [...new Set([...readFileSync(join(repoRoot, 'Makefile'), 'utf8').matchAll(/(?:npx tsx|node --import tsx) (\S+\.ts)/g)].map((m) => m[1]!))].sort();

describe('tsx entry points', () => {
  it('are found in the Makefile', () => {
    expect(entries).toEqual(expect.arrayContaining(['bench/main.ts', 'cli/deploy.ts', 'cli/dev.ts', 'cli/load.ts', 'cli/redrive.ts', 'cli/setup.ts', 'cli/watch.ts']));
  });

  it.each(entries)('%s links under Node', (entry) => {
    expect(link(entry)).toEqual({ status: 0, stderr: '' });
  });

  it('a named import Node cannot link fails the check', () => {
    writeFileSync(join(dir, 'bad-import.ts'), "import { KafkaJSError } from 'kafkajs';\nexport const seen = KafkaJSError;\n");
    const result = link('.run/entrypoints/bad-import.ts');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/does not provide an export named 'KafkaJSError'/);
  });
});
