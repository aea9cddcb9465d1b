/**
 * `make watch`: a live view, refreshed every second. Per KafkaSource: lag, vreplicas
 * (KEDA/HPA) of max-scale, the dispatcher pods they are placed on (one Kafka consumer each),
 * the members of its consumer group as Kafka reports them, function instances (KPA),
 * events/s into its topic and out to its function, dead letters. Per recent window: status,
 * events, late events and the aggregate revision.
 */
import { elasticsearchConfig } from '../shared/config.ts';
import { createEsClient } from '../shared/elasticsearch.ts';
import { commandSettings, flag, isOn } from './settings.ts';
import { pipelineTarget, targetSettings } from './target.ts';

const settings = commandSettings({ ...targetSettings, AGGREGATES_INDEX: elasticsearchConfig.AGGREGATES_INDEX, ONCE: flag() });
const target = pipelineTarget(settings);
const es = createEsClient({ ...(await target.elasticsearch()), requestTimeoutMs: 2000 });
const aggregatesIndex = settings.AGGREGATES_INDEX;
const once = isOn(settings.ONCE);

const previous = new Map<string, { at: number; produced: number; delivered: number }>();

interface WindowRow {
  window: string;
  status: string;
  count: number;
  late: number;
  revision: number;
}

async function windows(): Promise<WindowRow[]> {
  const res = await es.search<{ window_start: string; status: string; count: number; late_events: number }>({
    index: aggregatesIndex,
    size: 200,
    version: true,
    sort: [{ window_start: { order: 'desc' } }],
    _source: ['window_start', 'status', 'count', 'late_events'],
  });
  const rows = new Map<string, WindowRow>();
  for (const hit of res.hits.hits) {
    const d = hit._source!;
    const row = rows.get(d.window_start) ?? { window: d.window_start, status: d.status, count: 0, late: 0, revision: 0 };
    row.count += d.count;
    row.late += d.late_events;
    row.revision = Math.max(row.revision, hit._version ?? 0);
    if (d.status === 'open') row.status = 'open';
    rows.set(d.window_start, row);
  }
  return [...rows.values()].slice(0, 6);
}

/** Unknown numbers (not measurable on this target) print as '-'. */
const pad = (v: unknown, n: number) => (typeof v === 'number' && !Number.isFinite(v) ? '-' : String(v)).padStart(n);

async function render(): Promise<string> {
  const now = Date.now();
  const lines: string[] = [`big-data-pipeline · ${target.name} · ${new Date(now).toISOString().slice(0, 19)}Z   (Ctrl-C to quit)`, ''];
  lines.push(`${'source'.padEnd(18)}${pad('lag', 9)}${pad('vreplicas', 10)}${pad('pods', 6)}${pad('members', 9)}${pad('instances', 11)}${pad('in/s', 9)}${pad('out/s', 9)}${pad('dead', 7)}`);
  for (const s of await target.sources()) {
    const produced = await target.topicEnd(s.topic.split(',')[0]!).catch(() => NaN);
    const before = previous.get(s.name);
    const secs = before ? (now - before.at) / 1000 : 0;
    const inRate = before && secs > 0 ? (produced - before.produced) / secs : 0;
    const outRate = before && secs > 0 ? (s.delivered - before.delivered) / secs : 0;
    previous.set(s.name, { at: now, produced, delivered: s.delivered });
    lines.push(
      `${`${s.name} ← ${s.topic}`.padEnd(18).slice(0, 18)}${pad(s.lag, 9)}${pad(`${s.vreplicas}/${s.maxVReplicas}`, 10)}${pad(s.pods, 6)}${pad(s.members, 9)}${pad(s.instances, 11)}${pad(Math.round(inRate), 9)}${pad(Math.round(outRate), 9)}${pad(s.deadLettered, 7)}`,
    );
  }
  lines.push('', `${'window'.padEnd(26)}${'status'.padEnd(8)}${pad('events', 8)}${pad('late', 6)}${pad('revision', 10)}`);
  for (const w of await windows().catch(() => [])) {
    lines.push(`${w.window.padEnd(26)}${w.status.padEnd(8)}${pad(w.count, 8)}${pad(w.late, 6)}${pad(w.revision, 10)}`);
  }
  lines.push('', 'recent:', ...(await target.events()).slice(-8).map((e) => `  ${e}`));
  return lines.join('\n');
}

for (let frame = 0; ; frame++) {
  let screen: string;
  try {
    screen = await render();
  } catch (error) {
    screen = `waiting: ${(error as Error).message}`;
  }
  if (once) {
    // Rates need two samples: print the second screen, a second after the first.
    if (frame > 0) {
      console.log(screen);
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
    continue;
  }
  process.stdout.write(`\x1b[H\x1b[2J${screen}\n`);
  await new Promise((r) => setTimeout(r, 1000));
}
await es.close();
process.exit(0);
