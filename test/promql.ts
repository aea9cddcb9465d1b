/**
 * What the monitoring tests read from a running Prometheus, and where the queries come from:
 * every PromQL expression of the Grafana dashboards and the alert rules, as the platform ships them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every target expression of every dashboard JSON in platform/grafana (rows' nested panels too). */
export function dashboardQueries(root: string): PanelQuery[] {
  const dir = join(root, 'platform/grafana');
  const queries: PanelQuery[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { title: string; panels: Panel[] };
    const walk = (panels: Panel[]) => {
      for (const panel of panels) {
        for (const target of panel.targets ?? []) if (target.expr) queries.push({ dashboard: dashboard.title, panel: panel.title ?? '', expr: target.expr });
        walk(panel.panels ?? []);
      }
    };
    walk(dashboard.panels);
  }
  return queries;
}

export function ruleQueries(root: string): { alert: string; expr: string }[] {
  const rules = parse(readFileSync(join(root, 'platform/prometheus/rules.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names an expression selects: identifiers that are not functions, keywords,
 * label matchers, grouping labels, ranges or strings.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase()) || /^\d/.test(m[1]!)) continue;
    names.add(m[1]!);
  }
  return [...names];
}

export class PrometheusApi {
  constructor(readonly url: string) {}

  async get<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** The instant vector of an expression (an error for an expression Prometheus refuses). */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const data = await this.get<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>('/api/v1/query', { query: expr });
    return data.result;
  }

  async metricNamesPresent(): Promise<Set<string>> {
    return new Set(await this.get<string[]>('/api/v1/label/__name__/values'));
  }

  /**
   * What is wrong with a panel's or rule's expression on this Prometheus: the metrics it
   * selects that have no series, and (unless only names are checked) an empty result.
   */
  async problemsOf(expr: string, options: { names: Set<string>; requireResult: boolean }): Promise<string[]> {
    const problems = metricNames(expr)
      .filter((n) => !options.names.has(n))
      .map((n) => `no series of ${n}`);
    if (options.requireResult && (await this.query(expr)).length === 0) problems.push('empty result');
    return problems;
  }
}
