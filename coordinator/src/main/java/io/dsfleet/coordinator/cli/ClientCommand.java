package io.dsfleet.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.ConfigFile;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every dsctl command that talks to the coordinator shares: where to connect (flag, then
 * DSCTL_COORDINATOR, then the config file, then 127.0.0.1:7443), and turning a refusal into one
 * line and exit code 1 (a stack trace only with -v).
 */
public abstract class ClientCommand implements Callable<Integer> {
  @Spec protected CommandSpec spec;

  @Option(names = "--coordinator", paramLabel = "HOST:PORT", description = "Coordinator address (env DSCTL_COORDINATOR; config file key coordinator).")
  String coordinator;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces of errors.")
  boolean verbose;

  @Option(names = "--request-timeout", paramLabel = "SECONDS", defaultValue = "30", description = "Deadline of one request (default ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  private ManagedChannel channel;
  private String address;

  protected abstract int run(ControlServiceGrpc.ControlServiceBlockingStub control) throws Exception;

  protected PrintWriter out() {
    return spec.commandLine().getOut();
  }

  protected PrintWriter err() {
    return spec.commandLine().getErr();
  }

  protected ManagedChannel channel() {
    return channel;
  }

  protected String address() {
    return address;
  }

  static Path configFile(Map<String, String> env) {
    String xdg = env.get("XDG_CONFIG_HOME");
    Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
    return env.containsKey("DSCTL_CONFIG") ? Path.of(env.get("DSCTL_CONFIG")) : base.resolve("dsfleet").resolve("dsctl.yaml");
  }

  String resolveAddress(Map<String, String> env) {
    if (coordinator != null) {
      return coordinator;
    }
    if (env.get("DSCTL_COORDINATOR") != null && !env.get("DSCTL_COORDINATOR").isEmpty()) {
      return env.get("DSCTL_COORDINATOR");
    }
    Path file = configFile(env);
    if (Files.exists(file)) {
      Map<String, JsonNode> cfg = ConfigFile.read(file, Set.of("coordinator"));
      if (cfg.containsKey("coordinator")) {
        return cfg.get("coordinator").asText();
      }
    }
    return "127.0.0.1:7443";
  }

  @Override
  public Integer call() {
    try {
      address = resolveAddress(System.getenv());
    } catch (IllegalArgumentException e) {
      err().println("error: " + e.getMessage());
      return Dsctl.EXIT_USAGE;
    }
    channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
    try {
      return run(ControlServiceGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS));
    } catch (StatusRuntimeException e) {
      return refused(e);
    } catch (UsageException e) {
      err().println("error: " + e.getMessage());
      return Dsctl.EXIT_USAGE;
    } catch (Exception e) {
      err().println("error: " + e.getMessage());
      if (verbose) {
        e.printStackTrace(err());
      }
      return Dsctl.EXIT_REFUSED;
    } finally {
      channel.shutdownNow();
    }
  }

  protected int refused(StatusRuntimeException e) {
    Status s = e.getStatus();
    if (s.getCode() == Status.Code.UNAVAILABLE) {
      err().println("error: cannot reach the coordinator at " + address + " (" + (s.getDescription() == null ? "unavailable" : s.getDescription()) + ")");
    } else if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      err().println("error: the coordinator at " + address + " did not answer within " + timeoutSeconds + " s");
    } else {
      err().println("error: " + (s.getDescription() == null ? s.getCode().toString() : s.getDescription()));
    }
    if (verbose) {
      e.printStackTrace(err());
    }
    return Dsctl.EXIT_REFUSED;
  }

  /** Bad usage found after parsing (e.g. a malformed TYPE/NAME): exit 2. */
  public static final class UsageException extends RuntimeException {
    public UsageException(String message) {
      super(message);
    }
  }
}
