import { describe, expect, it } from 'vitest';
import { backlogBefore, groupLag, parseGroupTopics, partitionLag } from './lag.ts';

describe('partitionLag (KEDA getLagForPartition)', () => {
  it('is latest − committed when the group has committed', () => {
    expect(partitionLag(40, 100)).toBe(60);
    expect(partitionLag(100, 100)).toBe(0);
    expect(partitionLag(0, 5)).toBe(5);
    expect(partitionLag(40, 100, 'earliest')).toBe(60);
    expect(partitionLag(40, 100, 'latest', true)).toBe(60);
    expect(partitionLag(40, 100, 'earliest', true)).toBe(60);
  });

  it('counts a partition with no committed offset as 1 under the default latest policy', () => {
    expect(partitionLag(-1, 100)).toBe(1);
    expect(partitionLag(-1, 100, 'latest')).toBe(1);
    expect(partitionLag(-1, 0, 'latest')).toBe(1);
  });

  it('counts the whole log for a partition with no committed offset under earliest', () => {
    expect(partitionLag(-1, 100, 'earliest')).toBe(100);
    expect(partitionLag(-1, 0, 'earliest')).toBe(0);
  });

  it('counts 0 for no committed offset with scaleToZeroOnInvalidOffset, under either policy', () => {
    expect(partitionLag(-1, 100, 'latest', true)).toBe(0);
    expect(partitionLag(-1, 100, 'earliest', true)).toBe(0);
  });
});

describe('groupLag', () => {
  it('totals the partitions and keeps each partition lag', () => {
    const lag = groupLag('enrich', 'data-stream', [
      { partition: 0, committed: 10, latest: 15 },
      { partition: 1, committed: -1, latest: 50 },
      { partition: 2, committed: 7, latest: 7 },
    ]);
    expect(lag).toEqual({
      group: 'enrich',
      topic: 'data-stream',
      partitions: [
        { partition: 0, committed: 10, latest: 15, lag: 5 },
        { partition: 1, committed: -1, latest: 50, lag: 1 },
        { partition: 2, committed: 7, latest: 7, lag: 0 },
      ],
      total: 6,
    });
  });

  it('applies the offset reset policy to partitions without a commit', () => {
    const lag = groupLag('index', 'events-enriched', [
      { partition: 0, committed: -1, latest: 50 },
      { partition: 1, committed: 20, latest: 30 },
    ], 'earliest');
    expect(lag.total).toBe(60);
    expect(lag.partitions.map((p) => p.lag)).toEqual([50, 10]);
  });

  it('is 0 for a topic without partitions', () => {
    expect(groupLag('g', 't', []).total).toBe(0);
  });
});

describe('parseGroupTopics', () => {
  it('is empty for an unset or empty list', () => {
    expect(parseGroupTopics(undefined)).toEqual([]);
    expect(parseGroupTopics('')).toEqual([]);
    expect(parseGroupTopics(' , ')).toEqual([]);
  });

  it('reads comma-separated group:topic pairs, trimming blanks and skipping empty entries', () => {
    expect(parseGroupTopics('enrich:data-stream')).toEqual([{ group: 'enrich', topic: 'data-stream' }]);
    expect(parseGroupTopics(' enrich:data-stream ,, index:events-enriched ')).toEqual([
      { group: 'enrich', topic: 'data-stream' },
      { group: 'index', topic: 'events-enriched' },
    ]);
  });

  it.each(['enrich', 'enrich:', ':data-stream', 'a:b:c', 'enrich:data-stream,index'])('rejects %j', (list) => {
    expect(() => parseGroupTopics(list)).toThrow(/expected group:topic/);
  });

  it('names the bad pair in the error', () => {
    expect(() => parseGroupTopics('enrich:data-stream,oops')).toThrow('"oops"');
  });
});

describe('backlogBefore', () => {
  it('counts uncommitted records stamped before the time, per partition', () => {
    // p0: records from offset 40 on are at/after T; committed 30 → 10 older records pending.
    // p1: every record is older than T (-1): committed 90 of 100 → 10 pending.
    // p2: committed past the first newer record → nothing older pending.
    expect(
      backlogBefore([
        { firstAtOrAfter: 40, latest: 50, committed: 30 },
        { firstAtOrAfter: -1, latest: 100, committed: 90 },
        { firstAtOrAfter: 5, latest: 9, committed: 7 },
      ]),
    ).toBe(20);
  });

  it('treats a partition without a committed offset as committed at 0', () => {
    expect(backlogBefore([{ firstAtOrAfter: 3, latest: 10, committed: -1 }])).toBe(3);
    expect(backlogBefore([{ firstAtOrAfter: 0, latest: 10, committed: -1 }])).toBe(0);
  });
});
