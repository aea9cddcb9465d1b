package dev.bigdatapipeline.bench.spark;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Settings of the job: each from a command-line flag, else an environment variable (the
 * names the TypeScript functions use where they exist), else a default.
 */
final class JobConfig {
  /** One setting: its flag, its environment variable, its default (null = required, "" = none). */
  private record Option(String flag, String env, String fallback, String help) {}

  private static final List<Option> OPTIONS = List.of(
      new Option("bootstrap-servers", "KAFKA_BROKERS", "127.0.0.1:9092", "Kafka bootstrap servers, host:port[,host:port…]"),
      new Option("topic", "TOPIC_RAW", "data-stream", "topic of the raw shop events (CloudEvents, Kafka binary mode)"),
      new Option("es-url", "ELASTICSEARCH_URL", "http://127.0.0.1:9200", "Elasticsearch, http[s]://host:port"),
      new Option("events-index", "EVENTS_INDEX", "events", "index of the raw events (_id = event_id)"),
      new Option("aggregates-index", "AGGREGATES_INDEX", "events-aggregated", "index of the 1-minute window aggregates"),
      new Option("checkpoint-dir", "SPARK_CHECKPOINT_DIR", null, "checkpoints of both queries (<dir>/events, <dir>/aggregates); a fresh dir starts from the earliest offsets"),
      new Option("lateness-seconds", "ALLOWED_LATENESS_SECONDS", "30", "watermark delay of the aggregation"),
      new Option("trigger", "SPARK_TRIGGER_INTERVAL", "1 second", "processing-time trigger: milliseconds, or a Spark interval such as '500 milliseconds'"),
      new Option("master", "SPARK_MASTER", "local[2]", "Spark master"),
      new Option("shuffle-partitions", "SPARK_SHUFFLE_PARTITIONS", "4", "spark.sql.shuffle.partitions (also the number of state stores)"),
      new Option("max-offsets-per-trigger", "SPARK_MAX_OFFSETS_PER_TRIGGER", "", "cap on records per micro-batch and query"),
      new Option("dedup", "SPARK_DEDUP", "true", "count an event id seen twice once in the aggregates, as the TypeScript pipeline does (true|false)"));

  final String bootstrapServers;
  final String topic;
  final URI esUrl;
  final String eventsIndex;
  final String aggregatesIndex;
  final String checkpointDir;
  final int latenessSeconds;
  final String trigger;
  final String master;
  final int shufflePartitions;
  final Optional<Long> maxOffsetsPerTrigger;
  final boolean dedup;
  final Optional<String> esUser;
  final Optional<String> esPassword;

  private JobConfig(Map<String, String> v, Map<String, String> env) {
    bootstrapServers = v.get("bootstrap-servers");
    topic = v.get("topic");
    esUrl = URI.create(v.get("es-url"));
    if (esUrl.getHost() == null || !("http".equals(esUrl.getScheme()) || "https".equals(esUrl.getScheme()))) {
      throw new IllegalArgumentException("--es-url must look like http://host:port, got " + v.get("es-url"));
    }
    eventsIndex = v.get("events-index");
    aggregatesIndex = v.get("aggregates-index");
    checkpointDir = v.get("checkpoint-dir");
    latenessSeconds = nonNegative("lateness-seconds", v);
    String t = v.get("trigger").trim();
    trigger = t.matches("\\d+") ? t + " milliseconds" : t;
    master = v.get("master");
    shufflePartitions = Math.max(1, nonNegative("shuffle-partitions", v));
    String cap = v.get("max-offsets-per-trigger");
    maxOffsetsPerTrigger = cap.isEmpty() ? Optional.empty() : Optional.of((long) nonNegative("max-offsets-per-trigger", v));
    String d = v.get("dedup").trim().toLowerCase(java.util.Locale.ROOT);
    if (!d.equals("true") && !d.equals("false")) throw new IllegalArgumentException("--dedup must be true or false, got '" + v.get("dedup") + "'");
    dedup = d.equals("true");
    esUser = Optional.ofNullable(env.get("ELASTICSEARCH_USERNAME")).filter(s -> !s.isEmpty());
    esPassword = Optional.ofNullable(env.get("ELASTICSEARCH_PASSWORD")).filter(s -> !s.isEmpty());
  }

  private static int nonNegative(String key, Map<String, String> v) {
    try {
      int n = Integer.parseInt(v.get(key).trim());
      if (n >= 0) return n;
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IllegalArgumentException("--" + key + " must be a non-negative integer, got '" + v.get(key) + "'");
  }

  int esPort() {
    return esUrl.getPort() > 0 ? esUrl.getPort() : ("https".equals(esUrl.getScheme()) ? 443 : 80);
  }

  boolean esSsl() {
    return "https".equals(esUrl.getScheme());
  }

  static String usage() {
    StringBuilder s = new StringBuilder("usage: run.sh start [--flag value | --flag=value]…\n");
    for (Option o : OPTIONS) {
      String def = o.fallback() == null ? "required" : o.fallback().isEmpty() ? "none" : o.fallback();
      s.append(String.format("  --%-24s env %-30s %s (default: %s)%n", o.flag(), o.env(), o.help(), def));
    }
    s.append("  ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD (env only): basic auth, if set\n");
    return s.toString();
  }

  /** Flags win over the environment, which wins over the defaults. */
  static JobConfig parse(String[] args, Map<String, String> env) {
    Map<String, String> flags = new LinkedHashMap<>();
    List<String> unknown = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-h") || a.equals("--help")) throw new UsageException(null);
      if (!a.startsWith("--")) {
        unknown.add(a);
        continue;
      }
      String key;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        key = a.substring(2, eq);
        value = a.substring(eq + 1);
      } else {
        key = a.substring(2);
        if (i + 1 >= args.length) throw new UsageException("--" + key + " needs a value");
        value = args[++i];
      }
      final String k = key;
      if (OPTIONS.stream().noneMatch(o -> o.flag().equals(k))) unknown.add(a);
      else flags.put(key, value);
    }
    if (!unknown.isEmpty()) throw new UsageException("unknown argument(s): " + String.join(" ", unknown));
    Map<String, String> values = new LinkedHashMap<>();
    for (Option o : OPTIONS) {
      String value = flags.get(o.flag());
      if (value == null) value = env.get(o.env());
      if (value == null || value.isEmpty()) value = o.fallback();
      if (value == null) throw new UsageException("--" + o.flag() + " (or " + o.env() + ") is required");
      values.put(o.flag(), value);
    }
    try {
      return new JobConfig(values, env);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
