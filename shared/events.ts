/**
 * The CloudEvents the pipeline writes, one constructor per type (CeType): the functions
 * produce them, the tests and benchmarks build their inputs with them.
 */
import { CloudEvent } from 'cloudevents';
import { randomUUID } from 'node:crypto';
import { CeSource, CeType } from './ce-types.ts';
import type { EnrichedEvent, RawEvent, WindowTouched } from './schemas.ts';

/** A raw event as generate writes it to Kafka: its id is the event id, its time the event time. */
export function shopEvent(event: RawEvent): CloudEvent<RawEvent> {
  return new CloudEvent<RawEvent>(
    { id: event.event_id, source: CeSource.generate, type: CeType.shopEvent, time: event.timestamp, datacontenttype: 'application/json', data: event },
    false,
  );
}

/** An enriched event as enrich writes it: same id and time as the raw event it came from. */
export function enrichedEvent(event: EnrichedEvent): CloudEvent<EnrichedEvent> {
  return new CloudEvent<EnrichedEvent>(
    { id: event.event_id, source: CeSource.enrich, type: CeType.enrichedEvent, time: event.timestamp, datacontenttype: 'application/json', data: event },
    false,
  );
}

/** index's notice that a window got new documents; `nowMs` is when it was sent. */
export function touchedEvent(windowStart: string, nowMs: number): CloudEvent<WindowTouched> {
  return new CloudEvent<WindowTouched>(
    { id: randomUUID(), source: CeSource.index, type: CeType.windowTouched, time: new Date(nowMs).toISOString(), datacontenttype: 'application/json', data: { window_start: windowStart } },
    false,
  );
}
