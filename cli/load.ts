/**
 * `make load RATE=… DURATION=…`: drives `generate` as a user would, with one
 * generate.request CloudEvent per second (count = RATE, time = that second), and shows a
 * progress bar and a summary of what was produced and the rate reached.
 */
import { randomUUID } from 'node:crypto';
import { CeType } from '../shared/ce-types.ts';
import { Type } from '@sinclair/typebox';
import { commandSettings } from './settings.ts';
import { pipelineTarget, targetSettings } from './target.ts';

const settings = commandSettings(
  {
    ...targetSettings,
    RATE: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
    DURATION: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  },
  'usage: make load RATE=<events/s, 1..100000> DURATION=<seconds, 1..3600>',
);
const rate = settings.RATE;
const duration = settings.DURATION;

const target = pipelineTarget(settings);
let url: string;
try {
  url = target.generateUrl();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const runId = randomUUID().slice(0, 8);
let produced = 0;
let failed = 0;
const pending: Promise<void>[] = [];
const started = Date.now();

function bar(): void {
  const elapsed = (Date.now() - started) / 1000;
  const expected = rate * duration;
  const width = 30;
  const filled = Math.min(width, Math.round((produced / expected) * width));
  process.stdout.write(
    `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${produced}/${expected} events  ${(produced / Math.max(elapsed, 0.001)).toFixed(0)} ev/s  ${elapsed.toFixed(0)}s${failed ? `  ${failed} requests failed` : ''}   `,
  );
}

async function send(second: number): Promise<void> {
  const time = new Date(started + second * 1000).toISOString();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-type': CeType.generateRequest,
      'ce-source': `/make-load/${runId}`,
      'ce-id': `${runId}-${second}`,
      'ce-time': time,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ count: rate }),
  }).catch((error: Error) => ({ ok: false, status: 0, json: async () => ({ error: error.message }) }) as const);
  if (response.ok) produced += ((await response.json()) as { produced: number }).produced;
  else failed++;
  bar();
}

console.log(`load: ${rate} events/s for ${duration} s → ${url}`);
const ticker = setInterval(bar, 500);
for (let second = 0; second < duration; second++) {
  const due = started + second * 1000;
  if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  pending.push(send(second));
}
await Promise.all(pending);
clearInterval(ticker);
bar();
const seconds = (Date.now() - started) / 1000;
console.log(`\n\nsummary: ${produced} events produced in ${seconds.toFixed(1)} s (${(produced / seconds).toFixed(0)} events/s; asked ${rate}/s)${failed ? `, ${failed} requests failed` : ''}`);
process.exit(failed > 0 ? 1 : 0);
