import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { PipelineError } from '../../shared/errors.ts';
import { bulkOperations, bulkWithRetries, verdictOf } from './bulk.ts';

function item(status: number, error?: estypes.ErrorCause): estypes.BulkResponseItem {
  return { _index: 'events', _id: 'e1', status, ...(error ? { error } : {}) };
}

describe('verdictOf', () => {
  it.each([200, 201])('is ok for %d', (status) => {
    expect(verdictOf(item(status))).toEqual({ kind: 'ok' });
  });

  it('retries 429 (too many requests), with the error type and reason', () => {
    const verdict = verdictOf(item(429, { type: 'es_rejected_execution_exception', reason: 'rejected execution of write' }));
    expect(verdict).toEqual({ kind: 'retry', reason: 'es_rejected_execution_exception: rejected execution of write' });
  });

  it('retries 503 and other 5xx', () => {
    expect(verdictOf(item(503, { type: 'unavailable_shards_exception', reason: 'primary shard is not active' }))).toEqual({
      kind: 'retry',
      reason: 'unavailable_shards_exception: primary shard is not active',
    });
    expect(verdictOf(item(500)).kind).toBe('retry');
  });

  it('describes a retry without an error body by its status', () => {
    expect(verdictOf(item(503))).toEqual({ kind: 'retry', reason: 'status_503: status 503' });
  });

  it('rejects 400 mapper_parsing_exception: the document itself is wrong', () => {
    const verdict = verdictOf(item(400, { type: 'mapper_parsing_exception', reason: 'failed to parse field [price] of type [float]' }));
    expect(verdict).toEqual({ kind: 'reject', type: 'mapper_parsing_exception', reason: 'failed to parse field [price] of type [float]' });
  });

  it.each([
    ['document_parsing_exception', '[1:42] failed to parse field [timestamp] of type [date]'],
    ['illegal_argument_exception', 'Limit of total fields [1000] has been exceeded'],
  ])('rejects 400 %s: the document itself is wrong', (type, reason) => {
    expect(verdictOf(item(400, { type, reason }))).toEqual({ kind: 'reject', type, reason });
  });

  it('rejects a 409 version conflict and a bare 400, falling back to the status when there is no error body', () => {
    expect(verdictOf(item(409, { type: 'version_conflict_engine_exception', reason: 'conflict' })).kind).toBe('reject');
    expect(verdictOf(item(400))).toEqual({ kind: 'reject', type: 'status_400', reason: 'status 400' });
  });

  describe('statuses about the store, not the event, are retried (503 once the item retries run out)', () => {
    it('403 cluster_block_exception (index write block, disk flood stage)', () => {
      const reason = 'index [events] blocked by: [FORBIDDEN/8/index write (api)];';
      expect(verdictOf(item(403, { type: 'cluster_block_exception', reason }))).toEqual({ kind: 'retry', reason: `cluster_block_exception: ${reason}` });
    });

    it('a flood-stage block with 429 is retried too', () => {
      const reason = 'index [events] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];';
      expect(verdictOf(item(429, { type: 'cluster_block_exception', reason })).kind).toBe('retry');
    });

    it('404 index_not_found_exception (auto-create off)', () => {
      expect(verdictOf(item(404, { type: 'index_not_found_exception', reason: 'no such index [events]' }))).toEqual({
        kind: 'retry',
        reason: 'index_not_found_exception: no such index [events]',
      });
    });

    it.each([401, 403, 404, 408, 429, 500, 502, 503, 504])('status %d without an error body', (status) => {
      expect(verdictOf(item(status))).toEqual({ kind: 'retry', reason: `status_${status}: status ${status}` });
    });

    it('index_closed_exception, whatever its status', () => {
      expect(verdictOf(item(400, { type: 'index_closed_exception', reason: 'closed' })).kind).toBe('retry');
    });
  });
});

describe('bulkOperations', () => {
  const docs = [
    { event_id: 'a1', timestamp: '2024-05-01T23:59:59.999Z', price: 10 },
    { event_id: 'b2', timestamp: '2024-05-02T00:00:00.000Z', price: 20 },
  ];

  it('indexes each document under its event id into the daily index of its time, with the extra fields', () => {
    expect(bulkOperations('events', docs, { indexed_at: '2024-05-02T00:00:01.000Z' })).toEqual([
      { index: { _index: 'events-2024.05.01', _id: 'a1' } },
      { ...docs[0], indexed_at: '2024-05-02T00:00:01.000Z' },
      { index: { _index: 'events-2024.05.02', _id: 'b2' } },
      { ...docs[1], indexed_at: '2024-05-02T00:00:01.000Z' },
    ]);
  });

  it('sends a replay to the same index under the same id, whenever it comes', () => {
    expect(bulkOperations('events', [docs[0]!], { indexed_at: 'later' })[0]).toEqual(bulkOperations('events', [docs[0]!], { indexed_at: 'now' })[0]);
  });

  it('uses the index action (a replay overwrites), not create', () => {
    const [action] = bulkOperations('events', docs, {});
    expect(Object.keys(action as object)).toEqual(['index']);
  });

  it('is empty for no documents and leaves the input alone', () => {
    expect(bulkOperations('events', [], { indexed_at: 'x' })).toEqual([]);
    bulkOperations('events', docs, { indexed_at: 'x' });
    expect(docs).toEqual([
      { event_id: 'a1', timestamp: '2024-05-01T23:59:59.999Z', price: 10 },
      { event_id: 'b2', timestamp: '2024-05-02T00:00:00.000Z', price: 20 },
    ]);
  });
});
