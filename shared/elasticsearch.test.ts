import { describe, expect, it } from 'vitest';
import { eventsDailyPattern, eventsIndexOf, indexTemplates, retentionPolicy, retentionPolicyName } from './elasticsearch.ts';

const names = { EVENTS_INDEX: 'events', AGGREGATES_INDEX: 'events-aggregated', FINALS_INDEX: 'window-finals' };

describe('eventsIndexOf', () => {
  it('names the UTC day of the event, in the yyyy.MM.dd ILM reads as the origination date', () => {
    expect(eventsIndexOf('events', Date.parse('2024-05-01T12:34:56.789Z'))).toBe('events-2024.05.01');
    expect(eventsIndexOf('it-ab12-events', Date.parse('2026-11-24T00:00:00.000Z'))).toBe('it-ab12-events-2026.11.24');
  });

  it('changes day exactly at UTC midnight, whatever the local time zone', () => {
    expect(eventsIndexOf('events', Date.parse('2024-12-31T23:59:59.999Z'))).toBe('events-2024.12.31');
    expect(eventsIndexOf('events', Date.parse('2025-01-01T00:00:00.000Z'))).toBe('events-2025.01.01');
    // 23:30 in New York is already the next day in UTC.
    expect(eventsIndexOf('events', Date.parse('2024-03-09T23:30:00.000-05:00'))).toBe('events-2024.03.10');
  });

  it('knows leap days', () => {
    expect(eventsIndexOf('events', Date.parse('2024-02-28T23:59:59.999Z') + 1)).toBe('events-2024.02.29');
    expect(eventsIndexOf('events', Date.parse('2025-02-28T23:59:59.999Z') + 1)).toBe('events-2025.03.01');
    expect(eventsIndexOf('events', Date.parse('2000-02-29T12:00:00.000Z'))).toBe('events-2000.02.29');
  });

  it('puts every window of a day in one index: a 1-minute window never spans two', () => {
    const dayStart = Date.parse('2024-05-01T00:00:00.000Z');
    for (let minute = 0; minute < 1440; minute += 1) {
      const start = dayStart + minute * 60_000;
      expect(eventsIndexOf('events', start + 59_999)).toBe(eventsIndexOf('events', start));
    }
  });

  it('refuses a time with no four-digit year', () => {
    expect(() => eventsIndexOf('events', Date.parse('+010000-01-01T00:00:00.000Z'))).toThrow(RangeError);
    expect(() => eventsIndexOf('events', Number.NaN)).toThrow(RangeError);
  });

  it('is matched by the daily pattern, which the other indices are not', () => {
    const matches = (pattern: string, name: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.]/g, '\\.')).join('.*')}$`).test(name);
    expect(matches(eventsDailyPattern('events'), eventsIndexOf('events', Date.now()))).toBe(true);
    for (const other of ['events', 'events-aggregated', 'window-finals']) expect(matches(eventsDailyPattern('events'), other)).toBe(false);
  });
});

describe('indexTemplates', () => {
  it('puts the daily events indices behind the events alias, never writable through it', () => {
    const [events] = indexTemplates(names);
    expect(events).toMatchObject({
      name: 'big-data-pipeline-events',
      index_patterns: ['events-*.*.*'],
      template: { aliases: { events: { is_write_index: false } }, mappings: { dynamic: 'strict' } },
    });
  });

  it('adds the lifecycle, parsed from the index name, only when given a policy (where ILM exists)', () => {
    expect(Object.keys(indexTemplates(names)[0]!.template.settings).filter((k) => k.startsWith('index.lifecycle'))).toEqual([]);
    expect(indexTemplates(names, 'events-retention')[0]!.template.settings).toMatchObject({
      'index.lifecycle.name': 'events-retention',
      'index.lifecycle.parse_origination_date': true,
    });
  });

  it('keeps events-aggregated and window-finals whole indices with no lifecycle', () => {
    const [, aggregates, finals] = indexTemplates(names, 'events-retention');
    expect(aggregates).toMatchObject({ index_patterns: ['events-aggregated'] });
    expect(finals).toMatchObject({ index_patterns: ['window-finals'] });
    for (const t of [aggregates!, finals!]) {
      expect(t.template.aliases).toBeUndefined();
      expect(Object.keys(t.template.settings).some((k) => k.startsWith('index.lifecycle'))).toBe(false);
    }
  });
});

describe('retentionPolicy', () => {
  it('deletes a daily index the given number of days after its origination, and does nothing else', () => {
    expect(retentionPolicyName('events')).toBe('events-retention');
    expect(retentionPolicy(30).phases).toEqual({ delete: { min_age: '30d', actions: { delete: {} } } });
  });
});
