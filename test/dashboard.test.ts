import { describe, expect, it } from 'vitest';
import { renderPage } from '../dashboard/page.ts';
import { pageScript } from '../dashboard/script.ts';
import { healthStatus, orderedNames, rangeOf, summaryOf, summaryRequest } from '../dashboard/summary.ts';
import { formatAge, formatCents, formatCount, formatPercent, niceScale, stack } from '../dashboard/view.ts';

describe('dashboard formatting (the same code runs in the page)', () => {
  it('shows cents as dollars with two decimals and separators', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(1999)).toBe('$19.99');
    expect(formatCents(123_456_789)).toBe('$1,234,567.89');
    expect(formatCents(-1050)).toBe('-$10.50');
    expect(formatCents(1999.6)).toBe('$20.00');
  });

  it('shows counts, shares and ages', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatPercent(1, 3)).toBe('33.3%');
    expect(formatPercent(0, 0)).toBe('0.0%');
    expect(formatAge(null)).toBe('—');
    expect(formatAge(42.4)).toBe('42 s');
    expect(formatAge(180)).toBe('3 min');
    expect(formatAge(185)).toBe('3 min 05 s');
    expect(formatAge(7620)).toBe('2 h 07 min');
  });

  it('picks round axis steps that cover the maximum', () => {
    expect(niceScale(0, 5)).toEqual({ max: 5, step: 1 });
    expect(niceScale(10_496, 5)).toEqual({ max: 12_500, step: 2500 });
    expect(niceScale(100, 5)).toEqual({ max: 100, step: 20 });
    expect(niceScale(101, 5)).toEqual({ max: 125, step: 25 });
    for (const max of [1, 7, 33, 999, 12_345, 9_876_543]) {
      const scale = niceScale(max, 5);
      expect(scale.max).toBeGreaterThanOrEqual(max);
      expect(scale.max / scale.step).toBeLessThanOrEqual(10);
      expect(Math.round(scale.max / scale.step)).toBeCloseTo(scale.max / scale.step, 9);
    }
  });

  it('stacks series point by point', () => {
    expect(stack([])).toEqual({ bands: [], totals: [] });
    expect(stack([[1, 0, 3], [2, 5, 0]])).toEqual({
      bands: [
        [[0, 1], [0, 0], [0, 3]],
        [[1, 3], [0, 5], [3, 3]],
      ],
      totals: [3, 5, 3],
    });
  });
});

describe('dashboard summary shaping', () => {
  const now = Date.parse('2026-11-24T12:03:30.000Z');
  const range = rangeOf(3, now);

  it('covers the last N windows, the current one included', () => {
    expect(range).toEqual({ minutes: 3, fromMs: Date.parse('2026-11-24T12:01:00.000Z'), toMs: Date.parse('2026-11-24T12:04:00.000Z') });
    const request = summaryRequest('events-aggregated', range);
    expect(request.query).toEqual({ range: { window_start: { gte: '2026-11-24T12:01:00.000Z', lt: '2026-11-24T12:04:00.000Z' } } });
  });

  it('orders known names first, then the others by name', () => {
    expect(orderedNames(['US', 'EU'], ['OC', 'EU', 'AF', 'OC'])).toEqual(['US', 'EU', 'AF', 'OC']);
  });

  it('fills every minute of every region, zeros where there were no aggregates', () => {
    const bucket = (iso: string, open: number, regions: [string, number, number][]) => ({
      key: Date.parse(iso),
      open: { doc_count: open },
      by_region: { buckets: regions.map(([key, events, cents]) => ({ key, events: { value: events }, revenue_cents: { value: cents } })) },
    });
    const summary = summaryOf(
      {
        aggregations: {
          events: { value: 20 },
          revenue_cents: { value: 4497 },
          late_events: { value: 1 },
          last_computed_at: { value: now - 4000 },
          by_type: { buckets: [{ key: 'purchase', events: { value: 3 }, revenue_cents: { value: 4497 } }, { key: 'view', events: { value: 17 }, revenue_cents: { value: 0 } }] },
          per_minute: { buckets: [bucket('2026-11-24T12:01:00.000Z', 0, [['EU', 12, 1999]]), bucket('2026-11-24T12:03:00.000Z', 1, [['US', 7, 2498], ['OC', 1, 0]])] },
          everything: { newest_window: { value: Date.parse('2026-11-24T12:03:00.000Z') }, last_computed_at: { value: now - 4000 } },
        } as never,
      },
      range,
      now,
      180,
    );
    expect(summary.totals).toEqual({ events: 20, revenue_cents: 4497, purchases: 3, late_events: 1 });
    expect(summary.windows).toEqual({ open: 1, final: 1, last_computed_at: '2026-11-24T12:03:26.000Z' });
    expect(summary.revenue_per_minute.minutes).toEqual(['2026-11-24T12:01:00.000Z', '2026-11-24T12:02:00.000Z', '2026-11-24T12:03:00.000Z']);
    expect(summary.revenue_per_minute.regions.map((r) => [r.region, r.revenue_cents, r.events, r.total_revenue_cents])).toEqual([
      ['US', [0, 0, 2498], [0, 0, 7], 2498],
      ['EU', [1999, 0, 0], [12, 0, 0], 1999],
      ['ASIA', [0, 0, 0], [0, 0, 0], 0],
      ['SA', [0, 0, 0], [0, 0, 0], 0],
      ['OC', [0, 0, 0], [0, 0, 1], 0],
    ]);
    expect(summary.event_types).toEqual([
      { event_type: 'view', events: 17, revenue_cents: 0 },
      { event_type: 'click', events: 0, revenue_cents: 0 },
      { event_type: 'search', events: 0, revenue_cents: 0 },
      { event_type: 'purchase', events: 3, revenue_cents: 4497 },
    ]);
    expect(summary.health).toMatchObject({ status: 'live', elasticsearch: 'ok', newest_window_age_seconds: 30, freshness_seconds: 4 });
  });

  it('answers an empty or missing index with zeros and no data', () => {
    const summary = summaryOf({}, range, now, 180);
    expect(summary.totals).toEqual({ events: 0, revenue_cents: 0, purchases: 0, late_events: 0 });
    expect(summary.windows).toEqual({ open: 0, final: 0, last_computed_at: null });
    expect(summary.revenue_per_minute.regions.every((r) => r.revenue_cents.length === 3 && r.revenue_cents.every((c) => c === 0))).toBe(true);
    expect(summary.health).toMatchObject({ status: 'no-data', newest_window_start: null, freshness_seconds: null });
  });

  it('is stale when no new window or no recompute came for too long', () => {
    expect(healthStatus(30, 2, 180)).toBe('live');
    expect(healthStatus(181, 2, 180)).toBe('stale');
    expect(healthStatus(30, 181, 180)).toBe('stale');
    expect(healthStatus(null, null, 180)).toBe('no-data');
  });
});

describe('dashboard page', () => {
  it('embeds a script that parses, and a CSP that allows exactly it', () => {
    const script = pageScript({ refreshIntervalMs: 2000 });
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain('const REFRESH_MS = 2000;');
    const { html, csp } = renderPage({ refreshIntervalMs: 2000 });
    expect(html).toContain(`<script>${script}</script>`);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).toContain("connect-src 'self'");
  });

  it('loads nothing from elsewhere', () => {
    const { html } = renderPage({ refreshIntervalMs: 2000 });
    expect(html).not.toMatch(/<script[^>]+src=|<link|@import|url\(|https:\/\//);
    // The only absolute URL is the SVG namespace name, which is never fetched.
    expect(html.match(/http:\/\/[^'"\s]+/g)).toEqual(['http://www.w3.org/2000/svg']);
  });
});
