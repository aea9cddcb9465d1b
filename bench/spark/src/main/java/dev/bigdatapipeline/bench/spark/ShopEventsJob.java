package dev.bigdatapipeline.bench.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.date_format;
import static org.apache.spark.sql.functions.date_trunc;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_timestamp;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.window;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamReader;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The pipeline's job as one Spark Structured Streaming application: shop events from Kafka
 * (CloudEvents in binary mode) become
 *
 * <ol>
 *   <li>documents of the events index, {@code _id} = event_id, with price_cents, revenue_cents
 *       and window_start added (a replay overwrites, it never duplicates), and
 *   <li>one document per (1-minute window, event_type, region) in the aggregates index with
 *       exact count, revenue and quantity sums in integer cents and the exact number of
 *       distinct users. The aggregation runs in update mode with a watermark; every
 *       micro-batch rewrites the changed cells with their full current value under a
 *       deterministic {@code _id}, so the result is idempotent.
 * </ol>
 *
 * Two streaming queries on one SparkSession, each with its own checkpoint. Runs until the
 * process is stopped (SIGTERM stops both queries first); exits 1 if a query fails.
 */
public final class ShopEventsJob {
  static final String SHOP_EVENT_TYPE = "dev.bigdatapipeline.shop.event.v1";
  /** JavaScript's Date#toISOString(): UTC, always milliseconds. */
  static final String ISO_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
  private static final DateTimeFormatter ISO =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  /**
   * The raw event. Price is read as an exact decimal, so cents are exact; the document keeps
   * it as the double the JSON had. The timestamp is kept as written and parsed separately.
   */
  static final StructType EVENT_SCHEMA = new StructType()
      .add("event_id", DataTypes.StringType)
      .add("timestamp", DataTypes.StringType)
      .add("user_id", DataTypes.IntegerType)
      .add("session_id", DataTypes.IntegerType)
      .add("event_type", DataTypes.StringType)
      .add("product_id", DataTypes.IntegerType)
      .add("price", DataTypes.createDecimalType(12, 2))
      .add("quantity", DataTypes.IntegerType)
      .add("region", DataTypes.StringType)
      .add("device", DataTypes.StringType);

  private ShopEventsJob() {}

  public static void main(String[] args) throws Exception {
    JobConfig config;
    try {
      config = JobConfig.parse(args, System.getenv());
    } catch (JobConfig.UsageException e) {
      if (e.getMessage() != null) System.err.println("spark-bench: " + e.getMessage());
      System.err.print(JobConfig.usage());
      System.exit(e.getMessage() == null ? 0 : 2);
      return;
    }

    awaitTopic(config);
    EsCluster cluster = EsCluster.connect(config, Duration.ofSeconds(60));
    Map<String, String> es = esSettings(config);
    cluster.applyTo(es);
    System.err.printf("spark-bench: elasticsearch %s, cluster %s%s%n", cluster.version, cluster.name,
        cluster.gateway ? " (no GET /: the connector goes through the in-process gateway on 127.0.0.1:" + cluster.port + ")" : "");

    SparkSession spark = SparkSession.builder()
        .appName("big-data-pipeline-spark-bench")
        .master(config.master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", String.valueOf(config.shufflePartitions))
        // Streaming turns adaptive execution off anyway (with a warning per query).
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.streaming.stopTimeout", "20s")
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    spark.streams().addListener(new ProgressPrinter());

    Dataset<Row> events = shopEvents(spark, config);
    String checkpoints = config.checkpointDir.replaceAll("/+$", "");

    Map<String, String> eventWrites = new LinkedHashMap<>(es);
    eventWrites.put("es.mapping.id", "event_id");
    String eventsIndex = config.eventsIndex;
    StreamingQuery eventsQuery = eventDocuments(events).writeStream()
        .queryName("events")
        .option("checkpointLocation", checkpoints + "/events")
        .trigger(Trigger.ProcessingTime(config.trigger))
        .foreachBatch((VoidFunction2<Dataset<Row>, Long>) (batch, batchId) -> save(batch, eventsIndex, eventWrites))
        .start();

    Map<String, String> aggregateWrites = new LinkedHashMap<>(es);
    aggregateWrites.put("es.mapping.id", "doc_id");
    aggregateWrites.put("es.mapping.exclude", "doc_id");
    String aggregatesIndex = config.aggregatesIndex;
    StreamingQuery aggregatesQuery = windowCells(events, config.latenessSeconds, config.dedup).writeStream()
        .queryName("aggregates")
        .outputMode(OutputMode.Update())
        .option("checkpointLocation", checkpoints + "/aggregates")
        .trigger(Trigger.ProcessingTime(config.trigger))
        .foreachBatch((VoidFunction2<Dataset<Row>, Long>) (batch, batchId) ->
            save(aggregateDocuments(batch, Instant.now()), aggregatesIndex, aggregateWrites))
        .start();

    System.err.printf("spark-bench: reading %s from %s; writing %s and %s at %s; checkpoints in %s; trigger %s, lateness %d s, master %s%n",
        config.topic, config.bootstrapServers, config.eventsIndex, config.aggregatesIndex, config.esUrl,
        checkpoints, config.trigger, config.latenessSeconds, config.master);

    StopOnShutdown stopper = new StopOnShutdown(eventsQuery, aggregatesQuery);
    // Hadoop's shutdown hook manager is the one Spark registers its own hooks with (priority
    // 40, stopping the SparkContext); ours runs first and lets both queries end cleanly.
    org.apache.hadoop.util.ShutdownHookManager.get().addShutdownHook(stopper, 100);
    try {
      spark.streams().awaitAnyTermination();
    } catch (StreamingQueryException e) {
      if (stopper.stopping) return;
      System.err.println("spark-bench: a query failed: " + e.getMessage());
      haltAfterStopping(spark, 1);
    }
    if (stopper.stopping) return;
    System.err.println("spark-bench: a query stopped by itself");
    haltAfterStopping(spark, 1);
  }

  private static void haltAfterStopping(SparkSession spark, int status) {
    for (StreamingQuery q : spark.streams().active()) {
      try {
        q.stop();
      } catch (TimeoutException ignored) {
        // exiting anyway
      }
    }
    System.exit(status);
  }

  /**
   * Waits until the topic exists: Spark's Kafka source fails the query when it does not
   * (yet), and a harness may well start the job before it produces anything.
   */
  static void awaitTopic(JobConfig config) throws InterruptedException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "spark-bench-topic-check");
    long started = System.nanoTime();
    long said = started;
    try (Admin admin = Admin.create(props)) {
      while (true) {
        String problem;
        try {
          if (admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(config.topic)) return;
          problem = "it does not exist yet";
        } catch (ExecutionException | TimeoutException e) {
          problem = "Kafka does not answer: " + e.getMessage();
        }
        if (System.nanoTime() - said > TimeUnit.SECONDS.toNanos(15)) {
          said = System.nanoTime();
          System.err.printf("spark-bench: waiting for topic %s at %s (%d s): %s%n", config.topic, config.bootstrapServers,
              TimeUnit.NANOSECONDS.toSeconds(said - started), problem);
        }
        Thread.sleep(500);
      }
    }
  }

  /** Valid shop events of the topic, with their event time. */
  static Dataset<Row> shopEvents(SparkSession spark, JobConfig config) {
    DataStreamReader reader = spark.readStream()
        .format("kafka")
        .option("kafka.bootstrap.servers", config.bootstrapServers)
        .option("subscribe", config.topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")
        .option("includeHeaders", "true");
    if (config.maxOffsetsPerTrigger.isPresent()) reader = reader.option("maxOffsetsPerTrigger", config.maxOffsetsPerTrigger.get());
    Column isShopEvent = expr("exists(headers, h -> h.key = 'ce_type' AND CAST(h.value AS STRING) = '" + SHOP_EVENT_TYPE + "')");
    return reader.load()
        .where(isShopEvent)
        .select(from_json(col("value").cast("string"), EVENT_SCHEMA).as("e"))
        .select(col("e.*"))
        .withColumn("event_time", to_timestamp(col("timestamp")))
        // What cannot be read as a shop event is left out (the TypeScript pipeline sends it
        // to the dead-letter topic instead).
        .where(col("event_id").isNotNull()
            .and(col("event_time").isNotNull())
            .and(col("user_id").isNotNull())
            .and(col("event_type").isNotNull())
            .and(col("region").isNotNull())
            .and(col("price").isNotNull())
            .and(col("quantity").isNotNull()))
        .withColumn("price_cents", col("price").multiply(100).cast("long"))
        .withColumn("revenue_cents",
            when(col("event_type").equalTo("purchase"), col("price_cents").multiply(col("quantity"))).otherwise(lit(0L)));
  }

  /** Documents of the events index: the raw event plus price_cents, revenue_cents, window_start. */
  static Dataset<Row> eventDocuments(Dataset<Row> events) {
    return events.select(
        col("event_id"),
        col("timestamp"),
        col("user_id"),
        col("session_id"),
        col("event_type"),
        col("product_id"),
        col("price").cast("double").as("price"),
        col("quantity"),
        col("region"),
        col("device"),
        col("price_cents"),
        col("revenue_cents"),
        date_format(date_trunc("minute", col("event_time")), ISO_PATTERN).as("window_start"));
  }

  /**
   * Running cells of the 1-minute tumbling windows. An event id seen twice (a producer retry)
   * counts once, as in the TypeScript pipeline whose aggregates are computed from the events
   * index deduplicated by _id; the duplicate carries the same event time, so keying the
   * deduplication on (event_id, event_time) lets the watermark expire its state. (--dedup
   * false leaves it out, to measure what it costs.)
   */
  static Dataset<Row> windowCells(Dataset<Row> events, int latenessSeconds, boolean dedup) {
    Dataset<Row> watermarked = events.withWatermark("event_time", latenessSeconds + " seconds");
    Dataset<Row> unique = dedup ? watermarked.dropDuplicates("event_id", "event_time") : watermarked;
    return unique
        .groupBy(window(col("event_time"), "1 minute"), col("event_type"), col("region"))
        .agg(
            count(lit(1)).as("count"),
            sum(col("revenue_cents")).as("revenue_cents"),
            sum(col("quantity").cast("long")).as("quantity"),
            // Exact: the set of distinct user ids of the cell lives in the state store.
            size(collect_set(col("user_id"))).cast("long").as("unique_users"));
  }

  /** Documents of the aggregates index for the cells a micro-batch changed. */
  static Dataset<Row> aggregateDocuments(Dataset<Row> cells, Instant computedAt) {
    Column windowStart = date_format(col("window.start"), ISO_PATTERN);
    return cells.select(
        concat_ws("|", windowStart, col("event_type"), col("region")).as("doc_id"),
        windowStart.as("window_start"),
        date_format(col("window.end"), ISO_PATTERN).as("window_end"),
        col("event_type"),
        col("region"),
        col("count"),
        col("revenue_cents"),
        col("quantity"),
        col("unique_users"),
        lit(ISO.format(computedAt.truncatedTo(ChronoUnit.MILLIS))).as("computed_at"));
  }

  /** Bulk "index" with the given _id: a document is replaced whole, never merged or duplicated. */
  static void save(Dataset<Row> rows, String index, Map<String, String> settings) {
    rows.write().format("org.elasticsearch.spark.sql").options(settings).mode(SaveMode.Append).save(index);
  }

  /** Connector settings but where to connect (see {@link EsCluster#applyTo}). */
  static Map<String, String> esSettings(JobConfig config) {
    Map<String, String> es = new LinkedHashMap<>();
    es.put("es.nodes.wan.only", "true");
    es.put("es.index.auto.create", "true");
    es.put("es.write.operation", "index");
    // Like the TypeScript indexer: no refresh forced after each bulk; the index's own refresh
    // interval makes documents visible.
    es.put("es.batch.write.refresh", "false");
    config.esUser.ifPresent(u -> es.put("es.net.http.auth.user", u));
    config.esPassword.ifPresent(p -> es.put("es.net.http.auth.pass", p));
    return es;
  }

  /** Stops both queries when the JVM is asked to exit (SIGTERM, SIGINT). */
  private static final class StopOnShutdown implements Runnable {
    private final StreamingQuery[] queries;
    volatile boolean stopping;

    StopOnShutdown(StreamingQuery... queries) {
      this.queries = queries;
    }

    @Override
    public void run() {
      stopping = true;
      System.err.println("spark-bench: stopping");
      for (StreamingQuery q : queries) {
        try {
          q.stop();
        } catch (TimeoutException | RuntimeException e) {
          System.err.println("spark-bench: " + q.name() + " did not stop cleanly: " + e);
        }
      }
    }
  }
}
