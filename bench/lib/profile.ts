/**
 * Where the CPU of a V8 profile (node --cpu-prof) goes: self time by function and by package.
 *
 *   npx tsx bench/lib/profile.ts <dir with .cpuprofile files> [top]
 *
 * prints one Markdown section per profile: its total sampled time, the share of each
 * package (node_modules/<name>, node: internals, the project's own files, GC and idle), and
 * the functions with the most self time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a frame belongs to, as a reader groups it. */
export function packageOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return functionName;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node (internals)';
  if (url === '') return 'native / V8';
  const own = /\/(shared|functions|cli|bench|dashboard)\//.exec(url);
  return own ? `project ${own[1]}/` : 'other';
}

/**
 * The module a line of an esbuild bundle came from: a non-minified bundle starts each module
 * with a `// <path>` comment (`// node_modules/fastify/lib/route.js`, `// shared/server.ts`).
 */
const bundleMarkers = new Map<string, { line: number; path: string }[]>();
export function sourceOf(url: string, lineNumber: number): string {
  if (!url.startsWith('file://') || !url.endsWith('.mjs')) return url;
  let markers = bundleMarkers.get(url);
  if (!markers) {
    markers = [];
    try {
      readFileSync(fileURLToPath(url), 'utf8').split('\n').forEach((text, line) => {
        const m = /^\/\/ ((?:node_modules|shared|functions|dashboard|cli)\/\S+)$/.exec(text);
        if (m) markers!.push({ line, path: m[1]! });
      });
    } catch {
      // Not readable here (another machine's profile): keep the bundle's own url.
    }
    bundleMarkers.set(url, markers);
  }
  let found: string | undefined;
  for (const m of markers) {
    if (m.line > lineNumber) break;
    found = m.path;
  }
  return found === undefined ? url : `/${found}`;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  byPackage: [string, number][];
  top: [string, number][];
}

export function summarize(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    total += ms;
    const source = sourceOf(frame.url, frame.lineNumber);
    const pkg = packageOf(source, frame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    if (pkg === '(idle)' || pkg === '(program)') continue;
    const where = source === frame.url ? (frame.url ? `${frame.url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${frame.lineNumber + 1}` : '') : source.replace(/^\/(node_modules\/)?/, '');
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  const busy = total - (byPackage.get('(idle)') ?? 0);
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { file, totalMs: total, busyMs: busy, byPackage: sorted(byPackage), top: sorted(byFunction).slice(0, top) };
}

export function markdownOf(s: ProfileSummary, label = basename(s.file)): string {
  const pct = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1)} %`;
  return [
    `### ${label}`,
    '',
    `${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s sampled.`,
    '',
    '| package | share of busy time |',
    '|---|---:|',
    ...s.byPackage.filter(([p]) => p !== '(idle)').slice(0, 12).map(([p, ms]) => `| ${p} | ${pct(ms)} |`),
    '',
    '| function (self time) | share |',
    '|---|---:|',
    ...s.top.map(([f, ms]) => `| \`${f.replaceAll('|', '\\|')}\` | ${pct(ms)} |`),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx bench/lib/profile.ts <dir> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 15);
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) console.log(markdownOf(summarize(join(dir, f), top)));
}
