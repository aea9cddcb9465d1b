/**
 * The browser test's plumbing (test/dashboard-browser.it.test.ts, and test/browser/screenshots.ts):
 * Debian's Chromium driven by playwright-core, the dashboard app listening on 127.0.0.1, shop
 * events made by generate's own generator and enrich's own derivation, indexed into a
 * run's own `events`, and aggregated by window-aggregate's own handler. What the page
 * should show is computed here from the generated events alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { build as buildDashboard, configSchema as dashboardConfig } from '../../dashboard/app.ts';
import { buildPageAssets } from '../../dashboard/browser/bundle.mjs';
import type { StageReader } from '../../dashboard/stages/types.ts';
import { formatCents, formatCount, formatRatio } from '../../dashboard/view.ts';
import { generateEvents } from '../../functions/generate/generate.ts';
import { build as buildAggregator, configSchema as aggregatorConfig } from '../../functions/window-aggregate/app.ts';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor, eventsIndexOf } from '../../shared/elasticsearch.ts';
import { derivedFieldsOf } from '../../shared/enrichment.ts';
import { createMetrics } from '../../shared/metrics.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { windowStartOf } from '../../shared/window.ts';
import { binary, ce } from '../helpers.ts';

/** Without these, Chromium waits on the network this machine does not have (updates, sync, QUIC probes). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium from CHROMIUM (tools/browser/chromium.sh; `make test` sets it), on a fresh profile. */
export async function launchBrowser(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  const executablePath = process.env['CHROMIUM'];
  if (!executablePath) {
    throw new Error("CHROMIUM is not set: the dashboard's browser test drives Debian's chromium. Run it through `make test`, or set CHROMIUM=$(tools/browser/chromium.sh)");
  }
  const profile = mkdtempSync(join(tmpdir(), 'bdp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport, timezoneId: 'UTC', locale: 'en-US' });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RunningDashboard {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The dashboard app in this process on a free port, with the page script bundled as build.mjs does. */
export async function startDashboard(env: Record<string, string>, stages?: StageReader): Promise<RunningDashboard> {
  const config = loadConfig(dashboardConfig, { REFRESH_INTERVAL_MS: '500', SUMMARY_CACHE_MS: '0', ...env });
  const app = buildDashboard(config, { es: esClientFor(config), assets: await buildPageAssets(), ...(stages ? { stages } : {}) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the dashboard has no TCP address');
  return { url: `http://127.0.0.1:${address.port}/`, app, close: () => app.close() };
}

/**
 * `count` shop events from generate's generator, enriched as enrich does, two per second
 * from `anchorMs` (so `count` / 120 whole windows from there).
 */
export function shopEvents(count: number, anchorMs: number, seed: number): EnrichedEvent[] {
  const plan = { requestSource: '/dashboard-browser-test', requestId: `batch-${seed}`, total: count, ratePerSecond: 2, anchorMs, seed };
  const enrichedAt = new Date(anchorMs + count * 500).toISOString();
  return [...generateEvents(plan)].map((raw) => ({ ...raw, ...derivedFieldsOf(raw), enriched_at: enrichedAt }));
}

/**
 * Indexes the events into their daily `events` indices (the real mapping, `_id` = event id
 * as index does) and has window-aggregate's handler recompute each of their windows.
 */
export async function storeAndAggregate(es: Client, env: Record<string, string>, events: object[], nowMs: number): Promise<void> {
  const docs = events as (EnrichedEvent & { timestamp: string })[];
  const indexed = await es.bulk({
    refresh: true,
    operations: docs.flatMap((e) => [{ index: { _index: eventsIndexOf(env['EVENTS_INDEX']!, Date.parse(e.timestamp)), _id: e.event_id } }, { ...e, indexed_at: new Date(nowMs).toISOString() }]),
  });
  if (indexed.errors) throw new Error(`indexing the test events failed: ${JSON.stringify(indexed.items.find((i) => i.index?.error))}`);
  const aggregator = buildAggregator(loadConfig(aggregatorConfig, env), { es: esClientFor(loadConfig(aggregatorConfig, env)), metrics: createMetrics({ function: 'window-aggregate' }) });
  try {
    for (const windowStart of new Set(docs.map((e) => windowStartOf(Date.parse(e.timestamp))))) {
      const touched = ce({ type: CeType.windowTouched, data: { window_start: new Date(windowStart).toISOString() }, time: new Date(nowMs).toISOString() });
      const res = await aggregator.inject(binary(touched));
      if (res.statusCode !== 200) throw new Error(`window-aggregate answered ${res.statusCode}: ${res.body}`);
    }
  } finally {
    await aggregator.close();
  }
}

export interface Expected {
  events: number;
  revenue_cents: number;
  purchases: number;
  conversion: number | null;
  windows: number;
  /** Category → revenue in cents, most first. */
  categories: [string, number][];
}

/** What the page must show for these events, counted one by one. */
export function expectedOf(events: EnrichedEvent[], filter: { region?: string } = {}): Expected {
  const shown = events.filter((e) => !filter.region || e.region === filter.region);
  const purchases = shown.filter((e) => e.event_type === 'purchase').length;
  const views = shown.filter((e) => e.event_type === 'view').length;
  const categories = new Map<string, number>();
  for (const e of shown) categories.set(e.category, (categories.get(e.category) ?? 0) + e.revenue_cents);
  return {
    events: shown.length,
    revenue_cents: shown.reduce((sum, e) => sum + e.revenue_cents, 0),
    purchases,
    conversion: views > 0 ? purchases / views : null,
    windows: new Set(shown.map((e) => e.window_start)).size,
    categories: [...categories].sort((a, b) => b[1] - a[1]),
  };
}

/** The totals as the page must write them. */
export function totalsText(expected: Expected): Record<string, string> {
  return {
    'total-events': formatCount(expected.events),
    'total-revenue': formatCents(expected.revenue_cents),
    'total-purchases': formatCount(expected.purchases),
    'total-conversion': formatRatio(expected.conversion),
  };
}

export async function totalsOnScreen(page: Page): Promise<Record<string, string>> {
  return page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, document.getElementById(id)?.textContent ?? ''])), ['total-events', 'total-revenue', 'total-purchases', 'total-conversion']);
}

/**
 * Waits (the page polls) until the totals on screen are exactly the expected ones; fails
 * naming every total that differs, with what the screen showed last.
 */
export async function assertTotalsOnScreen(page: Page, expected: Expected, timeoutMs = 20_000): Promise<void> {
  const want = totalsText(expected);
  const deadline = Date.now() + timeoutMs;
  let shown: Record<string, string> = {};
  for (;;) {
    shown = await totalsOnScreen(page);
    const wrong = Object.keys(want).filter((id) => shown[id] !== want[id]);
    if (wrong.length === 0) return;
    if (Date.now() > deadline) throw new Error(`totals on screen differ: ${wrong.map((id) => `${id} shows ${JSON.stringify(shown[id])}, expected ${JSON.stringify(want[id])}`).join('; ')}`);
    await page.waitForTimeout(200);
  }
}

/** Pixels of a canvas inside `selector` drawn in exactly this colour (a series' stroke). */
export async function pixelsOfColor(page: Page, selector: string, hex: string): Promise<number> {
  return page.evaluate(
    ({ selector, hex }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`${selector} canvas`);
      if (!canvas) return -1;
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) n++;
      return n;
    },
    { selector, hex },
  );
}

/** The series names of a chart's legend (uPlot's), the time column left out. */
export async function legendOf(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(`${selector} .u-legend .u-series:not(:first-child) .u-label`, (labels) => labels.map((l) => l.textContent ?? ''));
}

/** Midway through the current minute, an instant from which whole past windows are easy to name. */
export function windowsAgo(nowMs: number, minutes: number): number {
  return windowStartOf(nowMs) - minutes * 60_000;
}
