import { describe, expect, it } from 'vitest';
import kafkaSourceSchema from './schemas/kafkasource.v1.json' with { type: 'json' };
import { parseIsoDurationMs } from './readers.ts';

describe('parseIsoDurationMs', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT30S', 30_000],
    ['PT1M', 60_000],
    ['PT1.5S', 1500],
    ['PT1H30M', 5_400_000],
    ['PT600S', 600_000],
    ['P1D', 86_400_000],
    ['P1DT2H3M4.5S', 93_784_500],
  ])('%s = %d ms', (text, ms) => {
    expect(parseIsoDurationMs(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', 'P1DT', '30s', 'PT-1S', 'PT1.S', 'P1Y', 'P1M', 'P1W', 'pt1s', ' PT1S'])('rejects "%s"', (text) => {
    expect(() => parseIsoDurationMs(text)).toThrow(/ISO-8601/);
  });

  it('accepts exactly what the KafkaSource schema accepts', () => {
    const pattern = new RegExp(kafkaSourceSchema.definitions.duration.pattern, 'u');
    for (const text of ['PT0.2S', 'PT30S', 'PT1M', 'P1DT2H3M4.5S', '', 'P', 'PT', 'P1DT', '30s', 'P1Y', 'P1W']) {
      let parses = true;
      try {
        parseIsoDurationMs(text);
      } catch {
        parses = false;
      }
      expect(pattern.test(text), text).toBe(parses);
    }
  });
});
