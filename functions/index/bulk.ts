/** Mapping of Elasticsearch bulk item results to per-request outcomes. Pure: no I/O. */
import type { estypes } from '@elastic/elasticsearch';
import { isRetryableItemStatus } from '../../shared/elasticsearch.ts';

export type ItemVerdict =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string }
  /** The document itself is wrong (mapping, parsing): retrying cannot help. */
  | { kind: 'reject'; reason: string; type: string };

export function verdictOf(item: estypes.BulkResponseItem): ItemVerdict {
  if (item.status >= 200 && item.status < 300) return { kind: 'ok' };
  const type = item.error?.type ?? `status_${item.status}`;
  const reason = item.error?.reason ?? `status ${item.status}`;
  if (isRetryableItemStatus(item.status)) return { kind: 'retry', reason: `${type}: ${reason}` };
  return { kind: 'reject', reason, type };
}

/** Bulk body indexing each document under its event id: a replay overwrites the same document. */
export function bulkOperations<T extends { event_id: string }>(index: string, docs: T[], extra: object): object[] {
  return docs.flatMap((doc) => [{ index: { _index: index, _id: doc.event_id } }, { ...doc, ...extra }]);
}
