/**
 * Elasticsearch client and the index templates of `events`, `events-aggregated` and the
 * window finalization records. Templates use only what the minimal local build also has:
 * no ILM, painless, ingest pipelines or scaled_float. Money is integer cents (long).
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

const singleNodeSettings = { number_of_shards: 1, number_of_replicas: 0 };

export async function ensureIndices(client: Client, names: IndexNames): Promise<void> {
  const specs: [string, MappingTypeMapping][] = [
    [names.EVENTS_INDEX, eventsMapping],
    [names.AGGREGATES_INDEX, aggregatesMapping],
    [names.FINALS_INDEX, finalsMapping],
  ];
  for (const [index, mappings] of specs) {
    await client.indices.putIndexTemplate({
      name: `big-data-pipeline-${index}`,
      index_patterns: [index],
      priority: 500,
      template: { settings: singleNodeSettings, mappings },
      _meta: { managed_by: 'big-data-pipeline' },
    });
    try {
      await client.indices.create({ index });
    } catch (error) {
      if (!(error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception')) throw error;
    }
  }
  await client.cluster.health({ index: specs.map(([i]) => i), wait_for_status: 'yellow', timeout: '30s' });
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
