/**
 * The upstream code and files the checks in test/upstream/ compare against: Go modules at
 * the versions tools/upstream/<tool>/go.mod pins (downloaded through the Go module proxy
 * into the module cache), and the check binaries tools/upstream/build.sh builds from them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../cli/manifests/index.ts';

export type UpstreamTool = 'keda' | 'hpa' | 'knative';

/** The version of `module` that tools/upstream/<tool>/go.mod requires. */
export function pinnedVersion(tool: UpstreamTool, module: string): string {
  const goMod = readFileSync(join(repoRoot, 'tools', 'upstream', tool, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match) throw new Error(`tools/upstream/${tool}/go.mod does not require ${module}`);
  return match[1]!;
}

const dirs = new Map<string, string>();

/** The source tree of `module` at the version the tool pins (go mod download: cached after the first time). */
export function moduleDir(tool: UpstreamTool, module: string): string {
  const key = `${tool}:${module}`;
  const known = dirs.get(key);
  if (known) return known;
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${pinnedVersion(tool, module)}`], {
    cwd: join(repoRoot, 'tools', 'upstream', tool),
    encoding: 'utf8',
  });
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string }).Dir;
  if (!dir) throw new Error(`go mod download ${module}: ${out}`);
  dirs.set(key, dir);
  return dir;
}

/** Every YAML file under `dir`, recursively, in path order (what `ko resolve -Rf dir` reads). */
export function yamlFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) found.push(path);
    }
  };
  walk(dir);
  return found.sort((a, b) => relative(dir, a).localeCompare(relative(dir, b)));
}

/** The check binary of a tool: UPSTREAM_<TOOL> (set by make test), else built (cached) now. */
export function checkBinary(tool: UpstreamTool): string {
  const fromEnv = process.env[`UPSTREAM_${tool.toUpperCase()}`];
  if (fromEnv) return fromEnv;
  return execFileSync(join(repoRoot, 'tools', 'upstream', 'build.sh'), [tool], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Runs one check over many cases: one JSON case per line in, one answer per line out.
 * Resolves with the answers by case id.
 */
export function runCheck<A extends { id: string }>(tool: UpstreamTool, args: string[], cases: readonly { id: string }[]): Promise<Map<string, A>> {
  return new Promise((resolve, reject) => {
    const child = spawn(checkBinary(tool), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${tool} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
      const answers = new Map<string, A>();
      for (const line of stdout.split('\n')) {
        if (!line.trim()) continue;
        const answer = JSON.parse(line) as A;
        answers.set(answer.id, answer);
      }
      if (answers.size !== cases.length) return reject(new Error(`${tool} ${args.join(' ')}: ${answers.size} answers for ${cases.length} cases; stderr: ${stderr.slice(-2000)}`));
      resolve(answers);
    });
    child.stdin.end(cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  });
}

/** An answer the upstream code gave without an error; an error it reported fails the test. */
export function withoutError<A extends { id: string; error?: string }>(answer: A): A {
  if (answer.error) throw new Error(`${answer.id}: ${answer.error}`);
  return answer;
}
