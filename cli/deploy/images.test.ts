import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../manifests/index.ts';
import { detectContainerTool } from './host.ts';
import { DOCKERFILE, DOCKER_IGNORE } from './images.ts';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile → instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current.trim()) logical.push(current);
  return logical.map((l) => {
    const [keyword = '', ...rest] = l.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

describe('images/function.Dockerfile', () => {
  const instructions = parseDockerfile(readFileSync(join(repoRoot, DOCKERFILE), 'utf8'));
  const of = (keyword: string) => instructions.filter((i) => i.keyword === keyword);

  it('builds nothing: only FROM/ARG/COPY/USER/ENV/WORKDIR/EXPOSE/ENTRYPOINT/CMD/LABEL', () => {
    const allowed = new Set(['FROM', 'ARG', 'COPY', 'USER', 'ENV', 'WORKDIR', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'LABEL']);
    expect(instructions.filter((i) => !allowed.has(i.keyword))).toEqual([]);
    // Nor through an ENV/ENTRYPOINT that would run a package manager or a compiler at start.
    const executable = instructions.filter((i) => i.keyword !== 'LABEL').map((i) => i.args).join('\n');
    expect(executable).not.toMatch(/\b(npm|npx|yarn|pnpm|tsc|esbuild|tsx|corepack)\b/);
  });

  it('starts from one Node LTS image pinned to a full version', () => {
    expect(of('FROM')).toHaveLength(1);
    const image = of('FROM')[0]!.args;
    expect(image).toMatch(/^node:(\d+)\.\d+\.\d+-alpine\d+\.\d+$/);
    // Even majors are the LTS lines; package.json engines allow < 25.
    const major = Number(/^node:(\d+)/.exec(image)![1]);
    expect(major % 2).toBe(0);
    expect(major).toBeLessThan(25);
  });

  it('copies only the function bundle and its source map', () => {
    expect(of('ARG').map((a) => a.args)).toEqual(['FUNCTION']);
    expect(of('COPY')).toEqual([{ keyword: 'COPY', args: 'dist/${FUNCTION}/index.mjs dist/${FUNCTION}/index.mjs.map /app/' }]);
    const ignore = readFileSync(join(repoRoot, DOCKER_IGNORE), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(['*', '!dist/*/index.mjs', '!dist/*/index.mjs.map']);
  });

  it('runs the bundle as a numeric non-root user, with source maps', () => {
    expect(of('USER').map((u) => u.args)).toEqual(['65532:65532']);
    expect(of('ENTRYPOINT').map((e) => JSON.parse(e.args) as string[])).toEqual([['node', '--enable-source-maps', '/app/index.mjs']]);
    expect(of('CMD')).toEqual([]);
    // The manifests run the image with the same uid and a read-only root filesystem.
    const manifest = readFileSync(join(repoRoot, 'knative', 'base', 'enrich.yaml'), 'utf8');
    expect(manifest).toMatch(/runAsUser: 65532/);
    expect(manifest).toMatch(/readOnlyRootFilesystem: true/);
  });
});

describe('detectContainerTool', () => {
  const run = (answers: Record<string, number>) => async (command: string) => ({ code: answers[command] ?? 1, stdout: '', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' });

  it('takes docker when its daemon answers, podman otherwise', async () => {
    expect(await detectContainerTool(() => true, run({ docker: 0, podman: 0 }), undefined)).toEqual({ tool: 'docker' });
    expect(await detectContainerTool(() => true, run({ docker: 1, podman: 0 }), undefined)).toEqual({ tool: 'podman' });
    expect(await detectContainerTool(() => true, run({ docker: 0, podman: 0 }), 'podman')).toEqual({ tool: 'podman' });
  });

  it('says why when neither can build (a docker CLI without a daemon does not count)', async () => {
    const found = await detectContainerTool((c) => c === 'docker', run({}), undefined);
    expect(found.tool).toBeUndefined();
    const why = (found as { why: string }).why;
    expect(why).toMatch(/docker is installed but its engine does not answer \(Cannot connect to the Docker daemon/);
    expect(why).toMatch(/podman is not installed/);
  });
});
