/**
 * Instant queries against Prometheus's HTTP API (`GET /api/v1/query`), and the one shape
 * the stage view needs from an answer: a number per value of one label.
 */
import { request } from 'undici';

export interface VectorSample {
  metric: Record<string, string>;
  /** [unix seconds, value as text]; Prometheus writes NaN and ±Inf as text too. */
  value: [number, string];
}

interface QueryAnswer {
  status: 'success' | 'error';
  data?: { resultType: string; result: VectorSample[] };
  error?: string;
}

/** The answer of a `sum by (label)`-style query as label value → number. */
export function byLabel(result: VectorSample[], label: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const sample of result) {
    const key = sample.metric[label];
    const value = Number(sample.value[1]);
    if (key !== undefined && Number.isFinite(value)) values.set(key, value);
  }
  return values;
}

export class Prometheus {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async query(promql: string): Promise<VectorSample[]> {
    const url = new URL('api/v1/query', this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    url.searchParams.set('query', promql);
    const res = await request(url, { headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, headers: { accept: 'application/json' } });
    const answer = (await res.body.json()) as QueryAnswer;
    if (res.statusCode !== 200 || answer.status !== 'success' || !answer.data) throw new Error(`Prometheus answered ${res.statusCode}: ${answer.error ?? 'no data'}`);
    if (answer.data.resultType !== 'vector') throw new Error(`Prometheus answered a ${answer.data.resultType}, not a vector, to ${promql}`);
    return answer.data.result;
  }
}
