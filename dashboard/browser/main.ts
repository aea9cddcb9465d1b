/// <reference lib="dom" />
/**
 * The page's script: reads the filters from the URL (so a view is a link), keeps the
 * controls and the URL in step, and polls /api/summary and /api/stages every
 * REFRESH_INTERVAL_MS, redrawing in place (no reload).
 */
import type { StagesReport } from '../stages/types.ts';
import type { Health, Summary } from '../summary.ts';
import { clockTime } from '../view.ts';
import { byId, setText } from './dom.ts';
import { renderCharts, renderHealth, renderMix, renderProducts, renderStages, renderTotals, setStatus } from './panels.ts';
import './style.css';

const REFRESH_MS = Number(document.body.dataset['refreshMs']) || 2000;
const CONTROLS = { minutes: 'f-minutes', region: 'f-region', event_type: 'f-event-type' } as const;
type FilterName = keyof typeof CONTROLS;
const control = (name: FilterName) => byId<HTMLSelectElement>(CONTROLS[name]);

let hasData = false;
let timer: ReturnType<typeof setTimeout> | undefined;
/** Answers to an older view are dropped: the filters changed while they were on their way. */
let generation = 0;

/** The URL's filters onto the controls; a value the page does not offer is dropped (and said so). */
function controlsFromUrl(): void {
  const params = new URLSearchParams(location.search);
  const dropped: string[] = [];
  for (const name of Object.keys(CONTROLS) as FilterName[]) {
    const select = control(name);
    const wanted = params.get(name) ?? (name === 'minutes' ? '60' : '');
    if (name === 'minutes' && /^\d+$/.test(wanted) && Number(wanted) >= 1 && Number(wanted) <= 1440 && ![...select.options].some((o) => o.value === wanted)) {
      select.append(new Option(`${wanted} min`, wanted));
    }
    select.value = wanted;
    if (select.value !== wanted) {
      if (wanted) dropped.push(`${name}=${wanted}`);
      select.value = name === 'minutes' ? '60' : '';
    }
  }
  const note = byId('filter-note');
  note.hidden = dropped.length === 0;
  note.textContent = dropped.length ? `Ignored from the link: ${dropped.join(', ')} (not a filter this page offers).` : '';
}

function query(): string {
  const params = new URLSearchParams();
  for (const name of Object.keys(CONTROLS) as FilterName[]) {
    const value = control(name).value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

function render(s: Summary): void {
  hasData = true;
  byId('main').classList.remove('stale');
  renderTotals(s);
  renderCharts(s);
  renderMix(s);
  renderProducts(s);
  renderHealth(s.health, hasData);
  setText('h-windows', `${s.windows.open} open · ${s.windows.final} final`);
  setText('updated', `Updated ${clockTime(s.generated_at, true)}`);
}

async function refreshSummary(view: number): Promise<void> {
  try {
    const res = await fetch(`api/summary?${query()}`, { cache: 'no-store', headers: { accept: 'application/json' } });
    const body = (await res.json()) as Summary & { health?: Health; error?: string; message?: string };
    if (view !== generation) return;
    if (res.ok) return render(body);
    byId('main').classList.add('stale');
    if (body.health) renderHealth(body.health, hasData);
    else {
      setStatus('offline');
      setText('health-note', body.message ?? body.error ?? `The dashboard answered ${res.status}.`);
    }
    if (!hasData) setText('updated', 'No data yet');
  } catch {
    if (view !== generation) return;
    byId('main').classList.add('stale');
    setStatus('offline');
    setText('health-note', 'The dashboard server does not answer; retrying.');
  }
}

async function refreshStages(): Promise<void> {
  try {
    const res = await fetch('api/stages', { cache: 'no-store', headers: { accept: 'application/json' } });
    if (res.ok) renderStages((await res.json()) as StagesReport);
  } catch {
    // The summary's failure already says the server is gone.
  }
}

async function refresh(): Promise<void> {
  clearTimeout(timer);
  const view = generation;
  await Promise.all([refreshSummary(view), refreshStages()]);
  if (view === generation) timer = setTimeout(() => void refresh(), REFRESH_MS);
}

function onFilterChange(): void {
  const q = query();
  history.pushState(null, '', q ? `?${q}` : location.pathname);
  generation++;
  void refresh();
}

for (const name of Object.keys(CONTROLS) as FilterName[]) control(name).addEventListener('change', onFilterChange);
window.addEventListener('popstate', () => {
  controlsFromUrl();
  generation++;
  void refresh();
});
controlsFromUrl();
void refresh();
