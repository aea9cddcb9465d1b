package dev.bigdatapipeline.bench.spark;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StateOperatorProgress;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.StreamingQueryProgress;

/**
 * One JSON line on stdout per executed micro-batch of either query, for a harness to follow:
 *
 * <pre>
 * {"query":"events","batch":3,"input_rows":5000,"processing_ms":812,"end_offsets":20000,
 *  "watermark":null,"state_rows":null,"time":"2026-11-24T12:00:11.123Z"}
 * </pre>
 *
 * {@code processing_ms} is the batch's trigger execution time, {@code end_offsets} the sum
 * over the topic's partitions of the offset the batch read up to (so the produced count on a
 * fresh topic once it has caught up), {@code watermark} and {@code state_rows} (windows ×
 * cells held in the state store) are set for the aggregation only. Spark's extra progress
 * reports while idle repeat a batch id and are not printed. Everything else (logs) goes to
 * stderr.
 */
final class ProgressPrinter extends StreamingQueryListener {
  private static final Pattern NUMBER = Pattern.compile(":\\s*(\\d+)");

  private final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
  /** Listener events come one at a time from Spark's listener bus thread. */
  private final Map<String, Long> lastBatch = new HashMap<>();

  @Override
  public void onQueryStarted(QueryStartedEvent event) {
    System.err.printf("spark-bench: query %s started (id %s)%n", event.name(), event.id());
  }

  @Override
  public void onQueryProgress(QueryProgressEvent event) {
    StreamingQueryProgress p = event.progress();
    String name = p.name() == null ? String.valueOf(p.id()) : p.name();
    Long previous = lastBatch.get(name);
    if (previous != null && previous >= p.batchId()) return;
    lastBatch.put(name, p.batchId());

    long endOffsets = 0;
    for (SourceProgress s : p.sources()) endOffsets += sumOfOffsets(s.endOffset());
    Long triggerMs = p.durationMs().get("triggerExecution");
    String watermark = p.eventTime().get("watermark");
    Long stateRows = null;
    for (StateOperatorProgress s : p.stateOperators()) stateRows = (stateRows == null ? 0 : stateRows) + s.numRowsTotal();

    String line = "{\"query\":" + quote(name)
        + ",\"batch\":" + p.batchId()
        + ",\"input_rows\":" + p.numInputRows()
        + ",\"processing_ms\":" + (triggerMs == null ? "null" : triggerMs)
        + ",\"end_offsets\":" + endOffsets
        + ",\"watermark\":" + (watermark == null ? "null" : quote(watermark))
        + ",\"state_rows\":" + stateRows
        + ",\"time\":" + quote(p.timestamp())
        + "}";
    synchronized (out) {
      out.println(line);
    }
  }

  @Override
  public void onQueryTerminated(QueryTerminatedEvent event) {
    System.err.printf("spark-bench: query %s terminated%s%n", event.id(),
        event.exception().isDefined() ? ": " + event.exception().get() : "");
  }

  /** The Kafka source's offsets are {"topic":{"0":123,"1":456}}. */
  private static long sumOfOffsets(String json) {
    if (json == null) return 0;
    long sum = 0;
    Matcher m = NUMBER.matcher(json);
    while (m.find()) sum += Long.parseLong(m.group(1));
    return sum;
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
