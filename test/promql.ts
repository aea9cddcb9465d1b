/**
 * What the monitoring tests read from a running Prometheus, and where the queries come from:
 * every PromQL expression of the Grafana dashboards and the alert rules, as the platform ships them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Prometheus, type VectorSample } from '../dashboard/stages/prometheus.ts';

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

/** The metric names of the selectors in a parsed expression (Prometheus's own AST, /api/v1/parse_query). */
function selectorNames(node: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const child of node) selectorNames(child, names);
  else if (node && typeof node === 'object') {
    const n = node as { type?: string; name?: string };
    if ((n.type === 'vectorSelector' || n.type === 'matrixSelector') && n.name) names.add(n.name);
    for (const child of Object.values(node)) selectorNames(child, names);
  }
  return names;
}

export class PrometheusApi {
  readonly #client: Prometheus;

  constructor(readonly url: string) {
    this.#client = new Prometheus(url, 10_000);
  }

  async get<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** The instant vector of an expression (an error for an expression Prometheus refuses). */
  query(expr: string): Promise<VectorSample[]> {
    return this.#client.query(expr);
  }

  /** The metric names an expression selects, as this Prometheus's parser reads it. */
  async metricNames(expr: string): Promise<string[]> {
    return [...selectorNames(await this.get<unknown>('/api/v1/parse_query', { query: expr }))];
  }

  async metricNamesPresent(): Promise<Set<string>> {
    return new Set(await this.get<string[]>('/api/v1/label/__name__/values'));
  }

  /**
   * What is wrong with a panel's or rule's expression on this Prometheus: the metrics it
   * selects that have no series, and (unless only names are checked) an empty result.
   */
  async problemsOf(expr: string, options: { names: Set<string>; requireResult: boolean }): Promise<string[]> {
    const problems = (await this.metricNames(expr))
      .filter((n) => !options.names.has(n))
      .map((n) => `no series of ${n}`);
    if (options.requireResult && (await this.query(expr)).length === 0) problems.push('empty result');
    return problems;
  }
}
