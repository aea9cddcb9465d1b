/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) on real
 * Elasticsearch: events made by generate's generator and enriched as enrich does, indexed,
 * and aggregated by window-aggregate's own handler; every number the test expects is
 * counted from those events, not read back from the store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStages } from '../dashboard/stages/local.ts';
import { deletePipelineIndices } from '../shared/elasticsearch.ts';
import type { EnrichedEvent } from '../shared/schemas.ts';
import {
  type Browser,
  type RunningDashboard,
  assertTotalsOnScreen,
  expectedOf,
  launchBrowser,
  legendOf,
  pixelsOfColor,
  shopEvents,
  startDashboard,
  storeAndAggregate,
  windowsAgo,
} from './browser/dashboard-page.ts';
import { UNREACHABLE, esClient, isolatedEnv, preparePlatform } from './helpers.ts';

describe('dashboard in Chromium', () => {
  const env = isolatedEnv();
  const es = esClient();
  const nowMs = Date.now();
  const stateDir = mkdtempSync(join(tmpdir(), 'bdp-dashboard-state-'));
  // Four whole windows, 5 to 2 minutes ago; then a later batch, 8 minutes ago.
  const first = shopEvents(480, windowsAgo(nowMs, 5), 1301);
  const second = shopEvents(120, windowsAgo(nowMs, 8), 1302);
  // A document the schema would refuse, as a fuzz once got into the index: its names must show as text.
  const hostile: EnrichedEvent = {
    ...first[0]!,
    event_id: '00000000-0000-4000-8000-000000000013',
    event_type: 'purchase',
    quantity: 1,
    revenue_cents: 1_000_000,
    category: '<script>alert(1)</script>' as EnrichedEvent['category'],
    brand: '<img src=x onerror="window.__pwned=1">' as EnrichedEvent['brand'],
  };
  const seeded = [...first, hostile];
  let browser: Browser;
  let dashboard: RunningDashboard;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    // Before anything else: without a browser this file fails, it does not skip.
    browser = await launchBrowser();
    await preparePlatform(env);
    await storeAndAggregate(es, env, seeded, nowMs);
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify(runtimeState()));
    dashboard = await startDashboard(env, new LocalStages(join(stateDir, 'state.json')));
    page = await browser.context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(dashboard.url);
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    rmSync(stateDir, { recursive: true, force: true });
    await deletePipelineIndices(es, { EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX! });
    await es.close();
  });

  it('shows the totals the test counts from the generated events', async () => {
    const expected = expectedOf(seeded);
    expect(expected.purchases).toBeGreaterThan(10);
    await assertTotalsOnScreen(page, expected);
    const windows = await page.evaluate(() => ['windows-open', 'windows-final'].map((id) => Number(document.getElementById(id)!.textContent)));
    expect(windows[0]! + windows[1]!).toBe(expected.windows);
  });

  it('fails the check when a total on screen is off by one', async () => {
    const expected = expectedOf(seeded);
    await assertTotalsOnScreen(page, expected);
    await expect(assertTotalsOnScreen(page, { ...expected, events: expected.events + 1 }, 1500)).rejects.toThrow(/total-events shows "[\d,]+", expected/);
    await expect(assertTotalsOnScreen(page, { ...expected, revenue_cents: expected.revenue_cents - 1 }, 1500)).rejects.toThrow(/total-revenue/);
    await expect(assertTotalsOnScreen(page, { ...expected, purchases: expected.purchases + 1 }, 1500)).rejects.toThrow(/total-purchases/);
  });

  it('draws every chart: one series per region and event type, in their colours', async () => {
    expect(await legendOf(page, '#chart-revenue')).toEqual(['US', 'EU', 'ASIA', 'SA']);
    expect(await legendOf(page, '#chart-types')).toEqual(['view', 'click', 'search', 'purchase']);
    expect(await legendOf(page, '#chart-late')).toEqual(['late events']);
    for (const colour of ['#1d4ed8', '#c2410c', '#047857', '#7e22ce']) expect(await pixelsOfColor(page, '#chart-revenue', colour), colour).toBeGreaterThan(20);
    expect(await pixelsOfColor(page, '#chart-types', '#0369a1')).toBeGreaterThan(20);
    // The table fallback holds the same numbers: one row per minute with events.
    expect(await page.locator('#chart-revenue-body tr').count()).toBe(expectedOf(seeded).windows);
  });

  it('shows the top categories exactly, and stored markup as literal text', async () => {
    const expected = expectedOf(seeded).categories;
    const rows = await page.$$eval('#categories tr', (trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent]));
    expect(rows.map((r) => r[0])).toEqual(expected.slice(0, 10).map(([name]) => name));
    expect(rows).toContainEqual(['<script>alert(1)</script>', '$10,000.00']);
    const brands = await page.$$eval('#brands th', (ths) => ths.map((th) => th.textContent));
    expect(brands).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await page.evaluate(() => document.querySelectorAll('#categories script, #brands img, main img').length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  it('shows the stages of the local runtime, unknown values as —', async () => {
    await expect.poll(() => page.locator('#stages tr').count()).toBe(2);
    const cells = await page.$$eval('#stages tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(cells[0]).toEqual(['generate', 'HTTP and PingSource', '—', '—', '—', '—', '1', '—', '—', '—']);
    expect(cells[1]!.slice(0, 7)).toEqual(['enrich', 'enrich-source (data-stream)', '120', '3 / 4', '2', '2', '2']);
    expect(cells[1]![9]).toBe('4');
  });

  it('changes the numbers without a reload when a new batch is aggregated', async () => {
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await storeAndAggregate(es, env, second, nowMs);
    await assertTotalsOnScreen(page, expectedOf([...seeded, ...second]));
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it('follows the region filter set with its control, and puts it in the URL', async () => {
    const all = [...seeded, ...second];
    await page.selectOption('#f-region', 'EU');
    await assertTotalsOnScreen(page, expectedOf(all, { region: 'EU' }));
    expect(new URL(page.url()).searchParams.get('region')).toBe('EU');
    expect(await legendOf(page, '#chart-revenue')).toEqual(['EU']);
    await page.selectOption('#f-region', '');
    await assertTotalsOnScreen(page, expectedOf(all));
  });

  it('follows the region filter given in a shared link', async () => {
    const all = [...seeded, ...second];
    const shared = await browser.context.newPage();
    try {
      await shared.goto(`${dashboard.url}?minutes=60&region=ASIA`);
      await assertTotalsOnScreen(shared, expectedOf(all, { region: 'ASIA' }));
      expect(await shared.inputValue('#f-region')).toBe('ASIA');
      expect(await shared.inputValue('#f-minutes')).toBe('60');
    } finally {
      await shared.close();
    }
  });

  it('says "Elasticsearch unreachable" when it is', async () => {
    const down = await startDashboard({ ...env, ELASTICSEARCH_URL: UNREACHABLE.ELASTICSEARCH_URL, ELASTICSEARCH_TIMEOUT_MS: '1000' });
    const downPage = await browser.context.newPage();
    try {
      await downPage.goto(down.url);
      await expect.poll(() => downPage.textContent('#status'), { timeout: 20_000 }).toBe('Elasticsearch unreachable');
      expect(await downPage.textContent('#h-es')).toMatch(/^✗ unreachable/);
      expect(await downPage.textContent('#total-events')).toBe('—');
    } finally {
      await downPage.close();
      await down.close();
    }
  }, 60_000);

  /** The local runtime's state as cli/dev writes it: JSON, so an unknown lag is null. */
  function runtimeState() {
    return {
      at: new Date(nowMs).toISOString(),
      dispatcher: { pods: 2 },
      sources: [{ name: 'enrich-source', topics: ['data-stream'], sink: 'enrich', consumerGroup: 'g', lag: 120, vreplicas: 3, maxScale: 4, placements: [{ podName: 'p0', vreplicas: 2 }, { podName: 'p1', vreplicas: 1 }], members: 2, autoscalerSince: 0, delivered: 10, deadLettered: 4, retries: 0, inFlight: 0 }],
      services: [
        // Ports where nothing listens: no counters, so no rates.
        { name: 'generate', url: 'http://127.0.0.1:1', instances: 1, desired: 1, ready: 1, inFlight: 0, restarts: 0, requests: 0, ports: [1] },
        { name: 'enrich', url: 'http://127.0.0.1:1', instances: 2, desired: 2, ready: 2, inFlight: 0, restarts: 0, requests: 0, ports: [1] },
      ],
      decisions: [],
      events: [],
    };
  }
});
