package dev.bigdatapipeline.bench.spark;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Elasticsearch the connector writes to.
 *
 * <p>The connector asks {@code GET /} for the cluster's name and version, on the driver and
 * again in every write task, and gives up without an answer. The minimal Elasticsearch build
 * the local platform runs (the integ-test-zip distribution: no rest-root module) does not
 * serve {@code GET /} (405). Against such a cluster the job puts a small gateway in front of
 * it, in this JVM on 127.0.0.1: it answers {@code GET /} itself, from nodes info, and passes
 * every other request through unchanged. Against a cluster that serves {@code GET /} the
 * connector talks to it directly.
 */
final class EsCluster {
  private static final Pattern CLUSTER_NAME = Pattern.compile("\"cluster_name\"\\s*:\\s*\"([^\"]+)\"");
  private static final Pattern CLUSTER_UUID = Pattern.compile("\"cluster_uuid\"\\s*:\\s*\"([^\"]+)\"");
  private static final Pattern NUMBER = Pattern.compile("\"number\"\\s*:\\s*\"([^\"]+)\"");
  private static final Pattern VERSION = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]+)\"");
  /** Not passed on: hop-by-hop, or set by the HTTP client/server themselves. */
  private static final Set<String> UNFORWARDED = Set.of("host", "connection", "content-length", "transfer-encoding",
      "expect", "upgrade", "keep-alive", "proxy-connection", "te", "trailer", "date");

  final String name;
  final String uuid;
  final String version;
  /** Where the connector should send its requests. */
  final String host;
  final int port;
  final boolean ssl;
  /** Whether requests pass through the in-process gateway. */
  final boolean gateway;

  private EsCluster(String name, String uuid, String version, String host, int port, boolean ssl, boolean gateway) {
    this.name = name;
    this.uuid = uuid;
    this.version = version;
    this.host = host;
    this.port = port;
    this.ssl = ssl;
    this.gateway = gateway;
  }

  /** Connector settings: where to connect, and the cluster facts so the driver skips discovery. */
  void applyTo(Map<String, String> settings) {
    settings.put("es.nodes", host);
    settings.put("es.port", String.valueOf(port));
    settings.put("es.net.ssl", String.valueOf(ssl));
    settings.put("es.internal.es.cluster.name", name);
    settings.put("es.internal.es.cluster.uuid", uuid);
    settings.put("es.internal.es.version", version);
  }

  /** Asks the cluster who it is (waiting up to {@code patience} for it), and opens the gateway if needed. */
  static EsCluster connect(JobConfig config, Duration patience) throws InterruptedException, IOException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    URI base = URI.create(config.esUrl.getScheme() + "://" + config.esUrl.getHost() + ":" + config.esPort());
    String auth = config.esUser.map(u -> "Basic " + Base64.getEncoder()
        .encodeToString((u + ":" + config.esPassword.orElse("")).getBytes(StandardCharsets.UTF_8))).orElse(null);
    long deadline = System.nanoTime() + patience.toNanos();
    String problem;
    while (true) {
      try {
        HttpResponse<String> root = get(http, base.resolve("/"), auth);
        if (root.statusCode() == 200) {
          return new EsCluster(find(CLUSTER_NAME, root.body()), find(CLUSTER_UUID, root.body()), find(NUMBER, root.body()),
              config.esUrl.getHost(), config.esPort(), config.esSsl(), false);
        }
        HttpResponse<String> nodes = get(http, base.resolve("/_nodes/_local?filter_path=cluster_name,nodes.*.version"), auth);
        HttpResponse<String> state = get(http, base.resolve("/_cluster/state/metadata?filter_path=metadata.cluster_uuid"), auth);
        if (nodes.statusCode() == 200 && state.statusCode() == 200) {
          String name = find(CLUSTER_NAME, nodes.body());
          String uuid = find(CLUSTER_UUID, state.body());
          String version = find(VERSION, nodes.body());
          int port = startGateway(http, base, auth, name, uuid, version);
          return new EsCluster(name, uuid, version, "127.0.0.1", port, false, true);
        }
        problem = "GET / answered " + root.statusCode() + ", GET /_nodes/_local " + nodes.statusCode() + ": " + nodes.body();
      } catch (IOException e) {
        problem = e.toString();
      }
      if (System.nanoTime() > deadline) throw new IllegalStateException("cannot reach Elasticsearch at " + base + ": " + problem);
      Thread.sleep(1000);
    }
  }

  private static HttpResponse<String> get(HttpClient http, URI uri, String auth) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
    if (auth != null) request.header("Authorization", auth);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String find(Pattern pattern, String body) {
    Matcher m = pattern.matcher(body);
    if (!m.find()) throw new IllegalStateException("unexpected answer from Elasticsearch: " + body);
    return m.group(1);
  }

  private static int startGateway(HttpClient http, URI upstream, String auth, String name, String uuid, String version)
      throws IOException {
    byte[] mainInfo = ("{\"name\":" + json(name) + ",\"cluster_name\":" + json(name) + ",\"cluster_uuid\":" + json(uuid)
        + ",\"version\":{\"number\":" + json(version) + ",\"build_flavor\":\"default\"},\"tagline\":\"You Know, for Search\"}")
        .getBytes(StandardCharsets.UTF_8);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    // Up to 2 write tasks per query run at once with local[2]; a few spare threads.
    ExecutorService threads = Executors.newFixedThreadPool(6, r -> {
      Thread t = new Thread(r, "es-gateway");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(threads);
    server.createContext("/", exchange -> {
      try (exchange) {
        if (exchange.getRequestMethod().equals("GET") && exchange.getRequestURI().getRawPath().equals("/")) {
          exchange.getResponseHeaders().set("Content-Type", "application/json");
          exchange.getResponseHeaders().set("X-elastic-product", "Elasticsearch");
          exchange.sendResponseHeaders(200, mainInfo.length);
          exchange.getResponseBody().write(mainInfo);
          return;
        }
        forward(http, upstream, auth, exchange);
      } catch (IOException | RuntimeException e) {
        System.err.println("spark-bench: es-gateway: " + e);
        throw e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    server.start();
    return server.getAddress().getPort();
  }

  private static void forward(HttpClient http, URI upstream, String auth, HttpExchange exchange)
      throws IOException, InterruptedException {
    String method = exchange.getRequestMethod();
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    URI target = upstream.resolve(exchange.getRequestURI().getRawPath()
        + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery()));
    HttpRequest.Builder request = HttpRequest.newBuilder(target).timeout(Duration.ofMinutes(2))
        .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    copyHeaders(exchange.getRequestHeaders(), request);
    if (auth != null && !exchange.getRequestHeaders().containsKey("Authorization")) request.header("Authorization", auth);
    HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    Headers out = exchange.getResponseHeaders();
    response.headers().map().forEach((key, values) -> {
      if (!UNFORWARDED.contains(key.toLowerCase(Locale.ROOT)) && !key.startsWith(":")) out.put(key, List.copyOf(values));
    });
    byte[] answer = response.body();
    boolean noBody = method.equals("HEAD") || answer.length == 0;
    exchange.sendResponseHeaders(response.statusCode(), noBody ? -1 : answer.length);
    if (!noBody) {
      try (OutputStream o = exchange.getResponseBody()) {
        o.write(answer);
      }
    }
  }

  private static void copyHeaders(Headers from, HttpRequest.Builder to) {
    from.forEach((key, values) -> {
      if (UNFORWARDED.contains(key.toLowerCase(Locale.ROOT))) return;
      for (String v : values) to.header(key, v);
    });
  }

  private static String json(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
