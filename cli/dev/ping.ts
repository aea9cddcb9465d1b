/** PingSources run locally: a CloudEvent to the sink on every cron tick, as the mt-ping adapter sends it. */
import { randomUUID } from 'node:crypto';
import { CloudEvent, HTTP } from 'cloudevents';
import { CronExpressionParser } from 'cron-parser';
import pRetry, { AbortError } from 'p-retry';
import { CeType } from '../../shared/ce-types.ts';
import type { PingSourceSpec } from '../manifests/index.ts';
import type { FunctionPool } from './pool.ts';

export function pingEvent(spec: PingSourceSpec, namespace: string, at: Date): CloudEvent<unknown> {
  const data = spec.data === undefined ? undefined : spec.contentType?.includes('json') ? JSON.parse(spec.data) : spec.data;
  return new CloudEvent(
    {
      id: randomUUID(),
      source: `/apis/v1/namespaces/${namespace}/pingsources/${spec.name}`,
      type: CeType.ping,
      time: at.toISOString(),
      ...(spec.contentType ? { datacontenttype: spec.contentType } : {}),
      data,
    },
    false,
  );
}

export function nextTick(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: after, tz: 'UTC' }).next().toDate();
}

export class PingSchedule {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  ticks = 0;
  failures = 0;

  constructor(
    private readonly spec: PingSourceSpec,
    private readonly namespace: string,
    private readonly sink: Pick<FunctionPool, 'post'>,
    private readonly onEvent: (message: string) => void,
  ) {}

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const at = nextTick(this.spec.schedule, new Date());
    this.#timer = setTimeout(() => {
      void this.fire(at);
      this.#schedule();
    }, at.getTime() - Date.now());
  }

  /**
   * Sends one tick, retried on a 5xx, a 429 or a transport error up to 4 times, 1 s, 2 s, 4 s
   * and 8 s apart; a retry keeps the same id and time, so the sink can recognise it.
   */
  async fire(at: Date): Promise<void> {
    const message = HTTP.binary(pingEvent(this.spec, this.namespace, at));
    const attempt = async (): Promise<void> => {
      if (this.#stopped) throw new AbortError('stopped');
      let status: number;
      try {
        ({ status } = await this.sink.post(message.headers as Record<string, string>, (message.body as string) ?? '', 150_000));
      } catch (error) {
        throw new Error(`transport error: ${(error as Error).message}`);
      }
      if (status < 300) return;
      if (status < 500 && status !== 429) throw new AbortError(`answered ${status}`);
      throw new Error(`answered ${status}`);
    };
    try {
      await pRetry(attempt, { retries: 4, factor: 2, minTimeout: 1000 });
      this.ticks++;
    } catch {
      this.failures++;
      this.onEvent(`${this.spec.name}: tick of ${at.toISOString()} was not accepted`);
    }
  }
}
