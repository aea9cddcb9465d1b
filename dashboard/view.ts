/**
 * Formatting and chart geometry of the page. These run in the browser: script.ts embeds
 * their source text in the page's script, so the page and its unit tests use the same
 * code. Hence each function is self-contained — it calls no other function of this module
 * and nothing imported — and is plain enough that its transpiled text is valid browser JS.
 */

/** Integer cents as dollars with two decimals and thousands separators: 123456 → "$1,234.56". */
export function formatCents(cents: number): string {
  const whole = Math.round(cents);
  const sign = whole < 0 ? '-' : '';
  const abs = Math.abs(whole);
  const dollars = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}$${dollars}.${String(abs % 100).padStart(2, '0')}`;
}

/** A count with thousands separators: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  const whole = Math.round(n);
  return (whole < 0 ? '-' : '') + String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An age in seconds for people: "—", "42 s", "3 min", "3 min 05 s", "2 h 07 min". */
export function formatAge(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Share of a total, one decimal: (1, 3) → "33.3%"; nothing of nothing is "0.0%". */
export function formatPercent(part: number, total: number): string {
  return `${(total > 0 ? (part / total) * 100 : 0).toFixed(1)}%`;
}

/**
 * A y axis for values up to `max`: a round step (1, 2, 2.5 or 5 × 10^n) so that about `ticks`
 * steps cover `max`. An empty chart still gets an axis.
 */
export function niceScale(max: number, ticks: number): { max: number; step: number } {
  if (!(max > 0)) return { max: ticks, step: 1 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const residual = rough / magnitude;
  const step = (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10) * magnitude;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

/**
 * Stacks series for a stacked bar chart: `series[s][i]` is series s at point i; the answer
 * gives each series' [bottom, top] at each point, and the total of each point.
 */
export function stack(series: number[][]): { bands: [number, number][][]; totals: number[] } {
  const length = series.length === 0 ? 0 : Math.max(...series.map((s) => s.length));
  const totals: number[] = new Array(length).fill(0);
  const bands = series.map((s) =>
    totals.map((bottom, i) => {
      const top = bottom + (s[i] ?? 0);
      totals[i] = top;
      return [bottom, top] as [number, number];
    }),
  );
  return { bands, totals };
}

/** Every function the page's script needs, by the name the script calls it. */
export const browserHelpers = { formatCents, formatCount, formatAge, formatPercent, niceScale, stack } as const;
