package io.dsfleet.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.ConfigFile;
import io.dsfleet.common.Durations;
import io.dsfleet.coordinator.fleet.FleetOptions;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** ds-coordinator: serves the agent and control services of dsfleet.v1. */
@Command(name = "ds-coordinator", mixinStandardHelpOptions = true, versionProvider = io.dsfleet.coordinator.cli.Dsctl.Version.class,
    description = "The dsfleet coordinator.", subcommands = {CoordinatorMain.Serve.class})
public final class CoordinatorMain {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorMain.class);
  static final Set<String> CONFIG_KEYS = Set.of("listen", "dataDir", "heartbeatInterval", "heartbeatGrace",
      "nodeGcAfter", "maxObjectsPerApply", "maxMessageBytes");

  public static void main(String[] args) {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    System.exit(new CommandLine(new CoordinatorMain()).execute(args));
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve the fleet.")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file; flags win over its keys (${DEFAULT-VALUE} when it exists).",
        defaultValue = "/etc/dsfleet/coordinator.yaml")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address to serve on (default 127.0.0.1:7443).")
    String listen;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Embedded store directory (default /var/lib/ds-coordinator).")
    Path dataDir;

    @Option(names = "--heartbeat-interval", paramLabel = "DURATION", description = "Agent heartbeat interval (default 5s).")
    String heartbeatInterval;

    @Option(names = "--heartbeat-grace", paramLabel = "DURATION", description = "No heartbeat this long: NotReady (default 20s).")
    String heartbeatGrace;

    @Option(names = "--node-gc-after", paramLabel = "DURATION", description = "NotReady this long: node removed (default 24h).")
    String nodeGcAfter;

    @Override
    public Integer call() throws Exception {
      CoordinatorOptions options;
      try {
        options = options();
      } catch (IllegalArgumentException e) {
        System.err.println("ds-coordinator: " + e.getMessage());
        return 2;
      }
      log.warn("serving PLAINTEXT gRPC on {}:{}: TLS and credentials are not implemented yet; keep it on a trusted network",
          options.host(), options.port());
      CoordinatorServer server = new CoordinatorServer(
          NettyServerBuilder.forAddress(new InetSocketAddress(options.host(), options.port())), options, Clock.systemUTC(), true);
      server.start();
      log.info("ds-coordinator serving on {}:{}, data in {}", options.host(), server.port(), options.dataDir());
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
      server.awaitTermination();
      return 0;
    }

    CoordinatorOptions options() {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      String listenValue = pick(listen, file, "listen", "127.0.0.1:7443");
      int colon = listenValue.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--listen must be HOST:PORT, got \"" + listenValue + "\"");
      }
      int port;
      try {
        port = Integer.parseInt(listenValue.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--listen port must be a number, got \"" + listenValue + "\"");
      }
      FleetOptions d = FleetOptions.defaults();
      FleetOptions fleet = new FleetOptions(
          duration(pick(heartbeatInterval, file, "heartbeatInterval", Durations.format(d.heartbeatInterval())), "heartbeatInterval"),
          duration(pick(heartbeatGrace, file, "heartbeatGrace", Durations.format(d.heartbeatGrace())), "heartbeatGrace"),
          d.leaseJitter(),
          duration(pick(nodeGcAfter, file, "nodeGcAfter", Durations.format(d.nodeGcAfter())), "nodeGcAfter"),
          Integer.parseInt(pick(null, file, "maxObjectsPerApply", String.valueOf(d.maxObjectsPerApply()))),
          d.eventsKept());
      Path dir = dataDir != null ? dataDir : Path.of(pick(null, file, "dataDir", "/var/lib/ds-coordinator"));
      int maxBytes = Integer.parseInt(pick(null, file, "maxMessageBytes", String.valueOf(4 * 1024 * 1024)));
      return new CoordinatorOptions(listenValue.substring(0, colon), port, dir, fleet, Duration.ofSeconds(1), maxBytes);
    }

    private static String pick(String flag, Map<String, JsonNode> file, String key, String fallback) {
      if (flag != null) {
        return flag;
      }
      JsonNode v = file.get(key);
      return v == null ? fallback : v.asText();
    }

    private static Duration duration(String text, String name) {
      try {
        return Durations.parse(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(name + ": " + e.getMessage());
      }
    }
  }
}
