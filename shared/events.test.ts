import { describe, expect, it } from 'vitest';
import { CeSource, CeType } from './ce-types.ts';
import { enrichedEvent, shopEvent, touchedEvent } from './events.ts';
import { enrichedRawEvent, rawEvent } from '../test/helpers.ts';

const raw = rawEvent();

describe('the pipeline’s CloudEvents', () => {
  it('carry the event id and event time through generate and enrich', () => {
    const enriched = enrichedRawEvent();
    for (const [event, type, source] of [
      [shopEvent(raw), CeType.shopEvent, CeSource.generate],
      [enrichedEvent(enriched), CeType.enrichedEvent, CeSource.enrich],
    ] as const) {
      expect({ id: event.id, time: event.time, type: event.type, source: event.source }).toEqual({ id: raw.event_id, time: raw.timestamp, type, source });
    }
  });

  it('date a window notice by the clock it is given, with a fresh id each', () => {
    const a = touchedEvent('2026-11-24T12:00:00.000Z', Date.parse('2026-11-24T12:03:00.000Z'));
    const b = touchedEvent('2026-11-24T12:00:00.000Z', Date.parse('2026-11-24T12:03:00.000Z'));
    expect(a.time).toBe('2026-11-24T12:03:00.000Z');
    expect(a.data).toEqual({ window_start: '2026-11-24T12:00:00.000Z' });
    expect(a.id).not.toBe(b.id);
  });
});
