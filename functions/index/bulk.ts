/** Mapping of Elasticsearch bulk item results to per-request outcomes. Pure: no I/O. */
import type { estypes } from '@elastic/elasticsearch';
import { isRetryableItemStatus } from '../../shared/elasticsearch.ts';

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
  if (isRetryableItemStatus(item.status) || STORE_STATE_STATUSES.has(item.status) || STORE_STATE_TYPES.has(type)) {
    return { kind: 'retry', reason: `${type}: ${reason}` };
  }
  // What is left is about the document: 400 mapper_parsing_exception, document_parsing_exception,
  // illegal_argument_exception, 409 version conflicts...
  return { kind: 'reject', reason, type };
}

/** Bulk body indexing each document under its event id: a replay overwrites the same document. */
export function bulkOperations<T extends { event_id: string }>(index: string, docs: T[], extra: object): object[] {
  return docs.flatMap((doc) => [{ index: { _index: index, _id: doc.event_id } }, { ...doc, ...extra }]);
}
