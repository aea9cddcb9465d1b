/**
 * The results of a `make bench` run: one row per measured subject against its baseline from
 * the same run, written to bench/results/<date>.json and bench/results/latest.md (which the
 * README links), with the machine they were measured on.
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stats } from './measure.ts';

export interface Measured {
  label: string;
  value: Stats;
  unit: string;
  /** CPU µs per event by process (medians over the rounds). */
  cpuPerEvent?: Record<string, number>;
}

export interface RowResult {
  id: string;
  title: string;
  subject: Measured;
  baseline: Measured;
  /** The ratio the target is about, and what it divides. */
  ratio: number;
  ratioMeaning: string;
  target: { text: string; met: boolean };
  notes?: string[];
  details?: Record<string, unknown>;
}

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
}

export function machine(): Machine {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

const fmt = (x: number, unit: string) => {
  if (unit === '×') return `${x.toFixed(2)}×`;
  if (Math.abs(x) >= 100) return `${Math.round(x).toLocaleString('en-US')} ${unit}`;
  return `${x.toFixed(x >= 10 ? 1 : 2)} ${unit}`;
};
const spread = (s: Stats) => (s.samples.length > 1 ? ` ±${Math.round(s.spread * 50)} %` : '');

export function markdown(rows: RowResult[], m: Machine, at: string, settings: Record<string, unknown>): string {
  const lines = [
    `# make bench — ${at}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}. Every figure is the median of the rounds (± half the range, relative); subject and baseline were measured in the same run, alternating. Settings: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}.`,
    '',
    '| # | subject | value | baseline | value | ratio | target | met |',
    '|---|---|---:|---|---:|---:|---|:---:|',
    ...rows.map((r) => `| ${r.id} | ${r.subject.label} | ${fmt(r.subject.value.median, r.subject.unit)}${spread(r.subject.value)} | ${r.baseline.label} | ${fmt(r.baseline.value.median, r.baseline.unit)}${spread(r.baseline.value)} | ${r.ratio.toFixed(2)}× | ${r.target.text} | ${r.target.met ? 'yes' : '**no**'} |`),
    '',
    '## What each ratio means',
    '',
    ...rows.map((r) => `- **${r.id}. ${r.title}**: ${r.ratioMeaning}.${r.notes?.length ? ` ${r.notes.join(' ')}` : ''}`),
    '',
    '## CPU per event (µs, by process)',
    '',
    '| # | run | ' + 'process | µs/event |',
    '|---|---|---|---:|',
    ...rows.flatMap((r) =>
      (['subject', 'baseline'] as const).flatMap((side) =>
        Object.entries(r[side].cpuPerEvent ?? {}).map(([p, us]) => `| ${r.id} | ${r[side].label} | ${p} | ${Math.round(us).toLocaleString('en-US')} |`),
      ),
    ),
    '',
  ];
  return lines.join('\n');
}

/** Writes bench/results/<date>.json and bench/results/latest.md; returns their paths. */
export function writeResults(root: string, rows: RowResult[], settings: Record<string, unknown>): { json: string; md: string } {
  const at = new Date().toISOString();
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const m = machine();
  const json = join(dir, `${at.slice(0, 19).replaceAll(':', '-')}.json`);
  writeFileSync(json, JSON.stringify({ at, machine: m, settings, rows }, null, 1));
  const md = join(dir, 'latest.md');
  writeFileSync(md, markdown(rows, m, at, settings));
  return { json, md };
}
