/**
 * The pipeline's stages as the dashboard shows them: per function, the KafkaSource that
 * feeds it and how both are scaled and keeping up. One interface, two readers: the local
 * runtime's state file under `make dev` (local.ts), Prometheus and the Kubernetes API on a
 * cluster (cluster.ts). A value a reader cannot know is null (the page shows "—", never 0).
 */
export interface StageHealth {
  /** The Knative Service (function). */
  function: string;
  /** The KafkaSource feeding it; null for a function fed over HTTP and by a PingSource (generate). */
  source: string | null;
  topic: string | null;
  /** Records of the topic not yet committed by the source's consumer group. */
  lag: number | null;
  /** The ConsumerGroup's vreplicas (set by KEDA) and the source's max-scale. */
  vreplicas: number | null;
  maxVReplicas: number | null;
  /** Dispatcher pods the vreplicas are placed on (one Kafka consumer each). */
  dispatcherPods: number | null;
  /** Members of the consumer group as Kafka reports them: the consumers really running. */
  consumers: number | null;
  /** Function instances (pods) up. */
  instances: number | null;
  /** CloudEvents received and records written downstream, per second. */
  inPerSecond: number | null;
  outPerSecond: number | null;
  /** Events sent to the dead-letter sink (see StagesReport.deadLetterNote for what is counted where). */
  deadLetters: number | null;
}

export interface StagesReport {
  /** Where the numbers come from: "local runtime", "Prometheus + Kubernetes API", or "none". */
  origin: string;
  /** When the source last measured them. */
  at: string | null;
  stages: StageHealth[];
  /** What the dead-letter column counts in this mode. */
  deadLetterNote: string;
  /** Why some or all numbers are missing. */
  error?: string;
}

export interface StageReader {
  read(): Promise<StagesReport>;
  close?(): Promise<void>;
}

/** No per-stage view configured (e.g. the dashboard run alone): says so instead of inventing numbers. */
export const noStages: StageReader = {
  read: async () => ({ origin: 'none', at: null, stages: [], deadLetterNote: '', error: 'no pipeline runtime or Prometheus configured (RUNTIME_STATE_FILE, PROMETHEUS_URL)' }),
};

/** A number Prometheus or a state file gave, or null when it gave none (NaN, missing). */
export const known = (n: number | undefined | null): number | null => (n === undefined || n === null || !Number.isFinite(n) ? null : n);
