/**
 * How the page writes numbers, times and names. Bundled into the page's script
 * (browser/), and unit-tested here. Pure, and no value is ever HTML: the page sets these
 * strings as text.
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

/** A value the server did not know: "—", never a made-up 0. */
export const UNKNOWN = '—';

/** A count, or "—" when unknown. */
export function formatMaybeCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? UNKNOWN : formatCount(n);
}

/** Per-second rates: "—" unknown, "0/s", "0.4/s", "12/s", "1,234/s". */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return UNKNOWN;
  return perSecond > 0 && perSecond < 10 ? `${perSecond.toFixed(1)}/s` : `${formatCount(perSecond)}/s`;
}

/** A ratio as a percentage with two decimals (conversion rates are small): 0.0312 → "3.12%"; null → "—". */
export function formatRatio(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? UNKNOWN : `${(ratio * 100).toFixed(2)}%`;
}

/** A range in minutes for people: 15 → "last 15 min", 180 → "last 3 h". */
export function formatRange(minutes: number): string {
  return `last ${minutes >= 120 && minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`}`;
}

/** Local clock time of an ISO instant: "14:05", with seconds "14:05:09". */
export function clockTime(iso: string, seconds = false): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
}
