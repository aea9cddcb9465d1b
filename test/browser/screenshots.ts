/**
 * The README's screenshots: docs/dashboard.png (everything) and docs/dashboard-eu.png (the
 * region filter set to EU), taken in Chromium.
 *
 *   CHROMIUM=$(tools/browser/chromium.sh) npx tsx test/browser/screenshots.ts
 *
 * With DASHBOARD_URL (e.g. http://127.0.0.1:8090 while `make dev` runs under `make load`) it
 * photographs that dashboard as it is. Without, it seeds an hour of generated events into
 * the test platform (TEST_KAFKA_BROKERS/TEST_ELASTICSEARCH_URL, else it starts its own as
 * `make test` does), aggregates them with window-aggregate's handler and serves them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { deletePipelineIndices } from '../../shared/elasticsearch.ts';
import { setup } from '../global-setup.ts';
import { esClient, isolatedEnv, preparePlatform } from '../helpers.ts';
import { launchBrowser, shopEvents, startDashboard, storeAndAggregate, windowsAgo } from './dashboard-page.ts';

const OUT = 'docs';

async function shoot(page: Page, url: string, file: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status')?.dataset['status'] !== 'loading' && document.querySelector('#chart-revenue canvas') !== null);
  // Two refreshes: the stages' rates need two reads.
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${OUT}/${file}`, fullPage: true });
  console.log(`wrote ${OUT}/${file}`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const browser = await launchBrowser({ width: 1440, height: 900 });
  try {
    const page = await browser.context.newPage();
    const given = process.env['DASHBOARD_URL'];
    if (given) {
      await shoot(page, given, 'dashboard.png');
      await shoot(page, `${given}${given.includes('?') ? '&' : '?'}region=EU`, 'dashboard-eu.png');
      return;
    }
    const stop = setup();
    const env = isolatedEnv({ REFRESH_INTERVAL_MS: '2000', SUMMARY_CACHE_MS: '1000' });
    const es = esClient();
    try {
      await preparePlatform(env);
      const nowMs = Date.now();
      // 45 minutes of events at 2/s, the newest window one minute ago.
      await storeAndAggregate(es, env, shopEvents(45 * 120, windowsAgo(nowMs, 46), Number.parseInt(randomBytes(3).toString('hex'), 16)), nowMs);
      const dashboard = await startDashboard(env);
      try {
        await shoot(page, dashboard.url, 'dashboard.png');
        await shoot(page, `${dashboard.url}?region=EU`, 'dashboard-eu.png');
      } finally {
        await dashboard.close();
      }
    } finally {
      await deletePipelineIndices(es, { EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX! });
      await es.close();
      stop();
    }
  } finally {
    await browser.close();
  }
}

await main();
