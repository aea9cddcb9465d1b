/**
 * Elasticsearch bulk items to per-request outcomes: which item is indexed, which is the
 * event's fault (400), which the store could not take now — retried with back-off, then 503.
 */
import type { estypes } from '@elastic/elasticsearch';
import pRetry from 'p-retry';
import type { Outcome } from '../../shared/batcher.ts';
import { eventsIndexOf, isRetryableStatus } from '../../shared/elasticsearch.ts';
import { ErrorCode, badEvent, downstreamUnavailable } from '../../shared/errors.ts';

export type ItemVerdict =
  | { kind: 'ok' }
  /** The store cannot take the document now (overload, write block, missing index...): retry, then 503. */
  | { kind: 'retry'; reason: string }
  /** The document itself is wrong (mapping, parsing): retrying cannot help. */
  | { kind: 'reject'; reason: string; type: string };

/**
 * Item statuses that describe the store, not the document: 401/403 (credentials, privileges,
 * `cluster_block_exception` from a write block or the disk flood stage), 404 (the index is
 * missing and auto-create is off), 408 (timeout). They clear without the event changing.
 */
const STORE_STATE_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 408]);

/** Error types that describe the store whatever status they come with (e.g. a closed index is a 400). */
const STORE_STATE_TYPES: ReadonlySet<string> = new Set([
  'cluster_block_exception',
  'index_not_found_exception',
  'index_closed_exception',
  'security_exception',
  'es_rejected_execution_exception',
  'unavailable_shards_exception',
  'circuit_breaking_exception',
]);

export function verdictOf(item: estypes.BulkResponseItem): ItemVerdict {
  if (item.status >= 200 && item.status < 300) return { kind: 'ok' };
  const type = item.error?.type ?? `status_${item.status}`;
  const reason = item.error?.reason ?? `status ${item.status}`;
  if (isRetryableStatus(item.status) || STORE_STATE_STATUSES.has(item.status) || STORE_STATE_TYPES.has(type)) {
    return { kind: 'retry', reason: `${type}: ${reason}` };
  }
  // What is left is about the document: 400 mapper_parsing_exception, document_parsing_exception,
  // illegal_argument_exception, 409 version conflicts...
  return { kind: 'reject', reason, type };
}

/**
 * Bulk body indexing each document under its event id into the daily index of its time: a
 * replay lands in the same index and overwrites the same document.
 */
export function bulkOperations<T extends { event_id: string; timestamp: string }>(events: string, docs: T[], extra: object): object[] {
  return docs.flatMap((doc) => [{ index: { _index: eventsIndexOf(events, Date.parse(doc.timestamp)), _id: doc.event_id } }, { ...doc, ...extra }]);
}

/** Some items of a bulk are to be sent again. */
class ItemsToRetry extends Error {}

/**
 * Indexes `docs` through `bulk`, one outcome per document. Only the items the store could
 * not take now go again, 100 ms, 200 ms, 400 ms... apart, at most `retries` times; those
 * still refused answer 503. A bulk request that fails as a whole fails the batch.
 */
export async function bulkWithRetries<T extends { event_id: string }>(
  docs: T[],
  bulk: (docs: T[]) => Promise<estypes.BulkResponse>,
  retries: number,
): Promise<Outcome<void>[]> {
  const outcomes: Outcome<void>[] = new Array(docs.length);
  let pending = docs.map((_, i) => i);
  const attempt = async () => {
    const response = await bulk(pending.map((i) => docs[i]!));
    const again: number[] = [];
    response.items.forEach((item, k) => {
      const i = pending[k]!;
      const verdict = verdictOf(Object.values(item)[0]!);
      if (verdict.kind === 'ok') {
        outcomes[i] = { ok: true, value: undefined };
      } else if (verdict.kind === 'reject') {
        outcomes[i] = { ok: false, error: badEvent(ErrorCode.rejectedByStore, `Elasticsearch rejected event ${docs[i]!.event_id}: ${verdict.reason}`, { type: verdict.type }) };
      } else {
        outcomes[i] = { ok: false, error: downstreamUnavailable(`Elasticsearch could not index event ${docs[i]!.event_id}`, verdict.reason) };
        again.push(i);
      }
    });
    pending = again;
    if (pending.length > 0) throw new ItemsToRetry(`${pending.length} item(s) to retry`);
  };
  try {
    await pRetry(attempt, { retries, minTimeout: 100, factor: 2, shouldRetry: ({ error }) => error instanceof ItemsToRetry });
  } catch (error) {
    // Out of retries: the items still refused keep their 503.
    if (!(error instanceof ItemsToRetry)) throw error;
  }
  return outcomes;
}
