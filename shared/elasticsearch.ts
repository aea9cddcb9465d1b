/**
 * Elasticsearch client and the index templates of `events` (daily indices behind an alias),
 * `events-aggregated` and the window finalization records. Templates use only what the
 * minimal local build also has (no painless, ingest pipelines or scaled_float); the
 * retention policy of the daily indices is added only where ILM exists. Money is integer
 * cents (long).
 */
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import { type AccessCheck, registerAccessCheck } from './access.ts';
import { readCaFile } from './config.ts';

type MappingTypeMapping = estypes.MappingTypeMapping;

export interface EsOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** PEM file of the CA that signs the HTTP certificate; unset: the system CAs. */
  caFile?: string | undefined;
  requestTimeoutMs: number;
}

export function createEsClient({ url, username, password, caFile, requestTimeoutMs }: EsOptions): Client {
  const ca = readCaFile(caFile);
  return new Client({
    node: url,
    ...(username && password ? { auth: { username, password } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    requestTimeout: requestTimeoutMs,
    // Retries belong to the caller (per bulk item) and to the dispatcher (503 -> back-off).
    maxRetries: 0,
    compression: false,
  });
}

export interface IndexNames {
  EVENTS_INDEX: string;
  AGGREGATES_INDEX: string;
  FINALS_INDEX: string;
}

const keyword = { type: 'keyword' } as const;
const date = { type: 'date', format: 'strict_date_optional_time' } as const;

/** A document with a field that is not in its mapping is refused, not silently mapped. */
const strict = (properties: NonNullable<MappingTypeMapping['properties']>): MappingTypeMapping => ({ dynamic: 'strict', properties });

export const eventsMapping = strict({
  event_id: keyword,
  timestamp: date,
  user_id: { type: 'integer' },
  session_id: { type: 'integer' },
  event_type: keyword,
  product_id: { type: 'integer' },
  price: { type: 'double' },
  price_cents: { type: 'long' },
  quantity: { type: 'integer' },
  revenue_cents: { type: 'long' },
  region: keyword,
  device: keyword,
  category: keyword,
  brand: keyword,
  window_start: date,
  hour_of_day: { type: 'byte' },
  enriched_at: date,
  indexed_at: date,
});

export const aggregatesMapping = strict({
  window_start: date,
  window_end: date,
  event_type: keyword,
  region: keyword,
  count: { type: 'long' },
  revenue_cents: { type: 'long' },
  revenue: { type: 'double' },
  quantity: { type: 'long' },
  price_cents_sum: { type: 'long' },
  avg_price: { type: 'double' },
  unique_users: { type: 'long' },
  status: keyword,
  final_count: { type: 'long' },
  late_events: { type: 'long' },
  computed_at: date,
  max_indexed_at: date,
});

/** One record per window, written once (op_type create) when the window first becomes final. */
export const finalsMapping = strict({
  window_start: date,
  finalized_at: date,
  counts: { type: 'object', enabled: false },
});

/** One shard; a replica only where a cluster has a node for it (ELASTICSEARCH_REPLICAS). */
const shardSettings = (replicas: number) => ({ number_of_shards: 1, number_of_replicas: replicas });

/**
 * The daily index of an event: `<events>-yyyy.MM.dd` of its time in UTC. The same event
 * always lands in the same index, so `_id` = event id keeps a redelivery from being stored
 * twice; and ILM reads the date in the name as the index's origination (retention counts
 * from the event day, not from when the index happened to be created).
 */
export function eventsIndexOf(events: string, timestampMs: number): string {
  const day = new Date(timestampMs).toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`no daily index for a time outside years 0-9999: ${timestampMs}`);
  return `${events}-${day.replaceAll('-', '.')}`;
}

/** Names only a daily index has: `events-*` alone would also match `events-aggregated`. */
export const eventsDailyPattern = (events: string): string => `${events}-*.*.*`;

/** The ILM policy of the daily events indices. */
export const retentionPolicyName = (events: string): string => `${events}-retention`;

/** Deletes a daily events index `days` after its day began (its origination date). */
export function retentionPolicy(days: number): estypes.IlmPolicy {
  return { phases: { delete: { min_age: `${days}d`, actions: { delete: {} } } }, _meta: { managed_by: 'big-data-pipeline' } };
}

export interface IndexTemplate {
  name: string;
  index_patterns: string[];
  priority: number;
  template: { settings: Record<string, unknown>; mappings: MappingTypeMapping; aliases?: Record<string, estypes.IndicesAlias> };
  _meta: { managed_by: string };
}

/**
 * The index templates of the pipeline. `events` is an alias over the daily indices, for
 * every reader; it is never a write index, so a write that names it fails instead of
 * landing in the wrong day. `lifecycle` (the policy name) only where ILM exists: without
 * the ILM module its index settings are unknown and refused.
 */
export function indexTemplates(names: IndexNames, lifecycle?: string, replicas = 0): IndexTemplate[] {
  const shards = shardSettings(replicas);
  const template = (index: string, patterns: string[], t: IndexTemplate['template']): IndexTemplate => ({
    name: `big-data-pipeline-${index}`,
    index_patterns: patterns,
    priority: 500,
    template: t,
    _meta: { managed_by: 'big-data-pipeline' },
  });
  const retention = lifecycle ? { 'index.lifecycle.name': lifecycle, 'index.lifecycle.parse_origination_date': true } : {};
  return [
    template(names.EVENTS_INDEX, [eventsDailyPattern(names.EVENTS_INDEX)], {
      settings: { ...shards, ...retention },
      mappings: eventsMapping,
      aliases: { [names.EVENTS_INDEX]: { is_write_index: false } },
    }),
    template(names.AGGREGATES_INDEX, [names.AGGREGATES_INDEX], { settings: shards, mappings: aggregatesMapping }),
    template(names.FINALS_INDEX, [names.FINALS_INDEX], { settings: shards, mappings: finalsMapping }),
  ];
}

/** Whether the cluster runs ILM; the minimal local build has no such module and no route for it. */
async function hasIlm(client: Client): Promise<boolean> {
  try {
    await client.ilm.getStatus();
    return true;
  } catch (error) {
    if (error instanceof errors.ResponseError && [400, 404, 405].includes(error.statusCode ?? 0)) return false;
    throw error;
  }
}

/**
 * Puts the retention policy (where ILM exists) and the index templates, and creates the
 * aggregate and finals indices; daily events indices are created by their first write.
 * Returns one line saying how old events are deleted.
 */
export async function ensureIndices(client: Client, names: IndexNames & { EVENTS_RETENTION_DAYS: number; ELASTICSEARCH_REPLICAS?: number | undefined }): Promise<string> {
  const retentionDays = names.EVENTS_RETENTION_DAYS;
  const events = names.EVENTS_INDEX;
  if (!(await client.indices.existsAlias({ name: events })) && (await client.indices.exists({ index: events }))) {
    throw new Error(`${events} is an index, but the pipeline needs the name for the alias over its daily indices ${events}-yyyy.MM.dd: move its events into those and delete it`);
  }
  let lifecycle: string | undefined;
  if (await hasIlm(client)) {
    lifecycle = retentionPolicyName(events);
    await client.ilm.putLifecycle({ name: lifecycle, policy: retentionPolicy(retentionDays) });
  }
  for (const template of indexTemplates(names, lifecycle, names.ELASTICSEARCH_REPLICAS)) await client.indices.putIndexTemplate(template);
  const whole = [names.AGGREGATES_INDEX, names.FINALS_INDEX];
  for (const index of whole) {
    try {
      await client.indices.create({ index });
    } catch (error) {
      if (!(error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception')) throw error;
    }
  }
  await client.cluster.health({ index: whole, wait_for_status: 'yellow', timeout: '30s' });
  return lifecycle
    ? `daily ${events} indices are deleted ${retentionDays} days after their day (ILM policy ${lifecycle})`
    : `no ILM in this Elasticsearch: daily ${events} indices are kept until deleted by hand`;
}

/**
 * Deletes every index of the pipeline: the daily events indices (the alias goes with them)
 * and the other two. For tests and benchmarks on their own names; wildcards are refused by
 * deletes, so the daily indices are listed first.
 */
export async function deletePipelineIndices(client: Client, names: IndexNames): Promise<void> {
  const daily = await client.indices.get({ index: eventsDailyPattern(names.EVENTS_INDEX), filter_path: '*.settings.index.provided_name' });
  await client.indices.delete({ index: [...Object.keys(daily), names.AGGREGATES_INDEX, names.FINALS_INDEX], ignore_unavailable: true });
}

/**
 * Whether an Elasticsearch status, of a response or of one bulk or multi-search item, says
 * "not now": 429 (overloaded, rejected execution) or a 5xx (unavailable shards, timeouts).
 */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Connection trouble, timeouts, overload and server errors: worth retrying later. */
export function isTransientEsError(error: unknown): boolean {
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError || error instanceof errors.NoLivingConnectionsError) {
    return true;
  }
  return error instanceof errors.ResponseError && isRetryableStatus(error.statusCode ?? 0);
}

interface EsSettings {
  ELASTICSEARCH_URL: string;
  ELASTICSEARCH_USERNAME?: string | undefined;
  ELASTICSEARCH_PASSWORD?: string | undefined;
  ELASTICSEARCH_CA_FILE?: string | undefined;
}

/** The client options of the settings every Elasticsearch user shares (functions, dashboard, setup). */
export function esOptionsOf(config: EsSettings): Omit<EsOptions, 'requestTimeoutMs'> {
  return {
    url: config.ELASTICSEARCH_URL,
    username: config.ELASTICSEARCH_USERNAME,
    password: config.ELASTICSEARCH_PASSWORD,
    caFile: config.ELASTICSEARCH_CA_FILE,
  };
}

/**
 * The start check of a running app's Elasticsearch client: any answer but 401 means the
 * connection, the certificate and the credentials are accepted (a 403 is a missing privilege
 * for this request, not a rejected user).
 */
export function esAccessCheck(client: Client, config: EsSettings): AccessCheck {
  return {
    store: 'Elasticsearch',
    async attempt() {
      try {
        await client.cluster.health();
      } catch (error) {
        if (!(error instanceof errors.ResponseError) || error.statusCode === 401) throw error;
      }
    },
    rejection(error) {
      if (error instanceof errors.ResponseError && error.statusCode === 401) {
        return config.ELASTICSEARCH_USERNAME
          ? `Elasticsearch rejected the credentials of user ${config.ELASTICSEARCH_USERNAME}: check ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD`
          : 'Elasticsearch requires credentials: set ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD';
      }
      // The client keeps only Node's message of a TLS failure, not its code.
      if (error instanceof errors.ConnectionError && /self[- ]signed|issuer|verify the first certificate|verify leaf/i.test(error.message)) {
        return config.ELASTICSEARCH_CA_FILE
          ? `Elasticsearch's certificate is not signed by ELASTICSEARCH_CA_FILE (${config.ELASTICSEARCH_CA_FILE}): ${error.message}`
          : `Elasticsearch's certificate is not signed by a CA this system trusts: set ELASTICSEARCH_CA_FILE (${error.message})`;
      }
      if (error instanceof errors.ConnectionError && /altnames|does not match/i.test(error.message)) {
        return `Elasticsearch's certificate does not name ${config.ELASTICSEARCH_URL}: ${error.message}`;
      }
      return undefined;
    },
  };
}

/** The Elasticsearch client of a function, from its config, with its start check registered. */
export function esClientFor(config: EsSettings & { ELASTICSEARCH_TIMEOUT_MS: number }): Client {
  const client = createEsClient({ ...esOptionsOf(config), requestTimeoutMs: config.ELASTICSEARCH_TIMEOUT_MS });
  registerAccessCheck(esAccessCheck(client, config));
  return client;
}
