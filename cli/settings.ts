/**
 * The commands' settings: environment variables checked once by loadConfig (shared/config.ts)
 * against a schema with defaults, so a wrong value stops the command before it starts, with a
 * message that names the variable.
 */
import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { elasticsearchConfig, kafkaConfig, kafkaSecurityConfig, loadConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';

export const port = (fallback: number) => Type.Integer({ minimum: 1, maximum: 65535, default: fallback });

/**
 * One of a few words. A pattern rather than a union of literals: its message lists the words
 * (`TARGET must match pattern "^(local|cluster)$"`), where a union's says only "constant".
 */
export function choice<const V extends readonly string[]>(...values: V) {
  return Type.Unsafe<V[number]>(Type.String({ pattern: `^(${values.join('|')})$` }));
}

/** Which cluster, for the commands that reach one (KUBECONFIG is read where kubectl would read it). */
export const kubeSettings = {
  KUBE_CONTEXT: Type.Optional(Type.String()),
  KUBECTL: Type.String({ minLength: 1, default: 'kubectl' }),
} satisfies TProperties;

/** On or off, the way make passes it (DRY_RUN=1, FORCE=yes): 1/true/yes or 0/false/no, any case. */
export const flag = () => Type.Optional(Type.String({ pattern: '^(1|0|true|false|yes|no|TRUE|FALSE|YES|NO|True|False|Yes|No)$' }));

export function isOn(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes'].includes(value.toLowerCase());
}

/**
 * How a command reaches Kafka and Elasticsearch: the client settings the functions read, as
 * `platform/local/infra.sh env` prints them (TLS and credentials only on a secure platform).
 */
export const clientSettings = {
  KAFKA_BROKERS: kafkaConfig.KAFKA_BROKERS,
  ...kafkaSecurityConfig,
  ELASTICSEARCH_URL: elasticsearchConfig.ELASTICSEARCH_URL,
  ELASTICSEARCH_USERNAME: elasticsearchConfig.ELASTICSEARCH_USERNAME,
  ELASTICSEARCH_PASSWORD: elasticsearchConfig.ELASTICSEARCH_PASSWORD,
  ELASTICSEARCH_CA_FILE: elasticsearchConfig.ELASTICSEARCH_CA_FILE,
} satisfies TProperties;

export type ClientSettings = Static<TObject<typeof clientSettings>>;

/** Settings as the environment of a child process: the unset ones left out. */
export function envOf(settings: object): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]])));
}

/** loadConfig for a command: a wrong value prints what is wrong (and how to call it) and exits 2. */
export function commandSettings<P extends TProperties>(properties: P, usage?: string, env: Record<string, string | undefined> = process.env): Static<TObject<P>> {
  try {
    return loadConfig(properties, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    if (usage) console.error(usage);
    process.exit(2);
  }
}
