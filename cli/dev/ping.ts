/** PingSources run locally: a CloudEvent to the sink on every cron tick, as the mt-ping adapter sends it. */
import { randomUUID } from 'node:crypto';
import { CloudEvent, HTTP } from 'cloudevents';
import { CronExpressionParser } from 'cron-parser';
import { CeType } from '../../shared/ce-types.ts';
import type { PingSourceSpec } from '../manifests.ts';
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
    private readonly sink: FunctionPool,
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

  /** Sends one tick; a retry keeps the same id and time, so the sink can recognise it. */
  async fire(at: Date): Promise<void> {
    const message = HTTP.binary(pingEvent(this.spec, this.namespace, at));
    for (let attempt = 0; attempt < 5 && !this.#stopped; attempt++) {
      try {
        const answer = await this.sink.post(message.headers as Record<string, string>, (message.body as string) ?? '', 150_000);
        if (answer.status < 300) {
          this.ticks++;
          return;
        }
        if (answer.status < 500 && answer.status !== 429) break;
      } catch {
        // transport error: retry
      }
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
    }
    this.failures++;
    this.onEvent(`${this.spec.name}: tick of ${at.toISOString()} was not accepted`);
  }
}
