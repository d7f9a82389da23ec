package io.dsfleet.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.ConfigFile;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every dsctl command that talks to the coordinator shares: where to connect (flag, then
 * DSCTL_COORDINATOR, then the config file, then 127.0.0.1:7443), with which credential (flag,
 * DSCTL_CREDENTIALS, the config file, ~/.config/dsfleet/credentials.pem, then the coordinator
 * host's own /var/lib/ds-coordinator/pki/admin.pem when readable), or plaintext with --insecure;
 * and turning a refusal into one line and exit code 1 (a stack trace only with -v).
 */
public abstract class ClientCommand implements Callable<Integer> {
  @Spec protected CommandSpec spec;

  @Option(names = "--coordinator", paramLabel = "HOST:PORT[,HOST:PORT...]", description = "Coordinator address, or the"
      + " replicas of a group, comma-separated: dsctl finds the leader (env DSCTL_COORDINATOR; config file key coordinator).")
  String coordinator;

  @Option(names = "--credentials", paramLabel = "FILE", description = "Credential file: certificate, key and CA in PEM"
      + " (env DSCTL_CREDENTIALS; config file key credentials).")
  Path credentials;

  @Option(names = "--insecure", description = "Plaintext, no credential (only for a coordinator started with --insecure;"
      + " env DSCTL_INSECURE=true; config file key insecure).")
  boolean insecure;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces of errors.")
  boolean verbose;

  @Option(names = "--request-timeout", paramLabel = "SECONDS|DURATION", defaultValue = "30", converter = Timeouts.class,
      description = "Deadline of one request: seconds or a duration (20s, 2m); 0 for none (default ${DEFAULT-VALUE} s).")
  Duration requestTimeout;

  private ManagedChannel channel;
  private String address;
  private boolean plaintext;

  protected abstract int run(ControlServiceGrpc.ControlServiceBlockingStub control) throws Exception;

  /** The stub with the deadline {@code --request-timeout} gives one request (none for 0). */
  protected final ControlServiceGrpc.ControlServiceBlockingStub withRequestTimeout(ControlServiceGrpc.ControlServiceBlockingStub stub) {
    return requestTimeout.isZero() ? stub : stub.withDeadlineAfter(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

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

  static final Set<String> CONFIG_KEYS = Set.of("coordinator", "credentials", "insecure");
  static final Path COORDINATOR_ADMIN = Path.of("/var/lib/ds-coordinator/pki/admin.pem");

  private Map<String, JsonNode> config;

  /** The config file's keys, read once per command. */
  private Map<String, JsonNode> config(Map<String, String> env) {
    if (config == null) {
      Path file = configFile(env);
      config = Files.exists(file) ? ConfigFile.read(file, CONFIG_KEYS) : Map.of();
    }
    return config;
  }

  String resolveAddress(Map<String, String> env) {
    if (coordinator != null) {
      return coordinator;
    }
    if (env.get("DSCTL_COORDINATOR") != null && !env.get("DSCTL_COORDINATOR").isEmpty()) {
      return env.get("DSCTL_COORDINATOR");
    }
    String v = ConfigFile.text(config(env), "coordinator"); // a list refused: its text was ""
    return v != null ? v : "127.0.0.1:7443";
  }

  boolean resolveInsecure(Map<String, String> env) {
    if (insecure || "true".equalsIgnoreCase(env.get("DSCTL_INSECURE"))) {
      return true;
    }
    JsonNode v = config(env).get("insecure");
    return v != null && v.asBoolean();
  }

  /** The credential file to use; the error says where dsctl looked. */
  Path resolveCredentials(Map<String, String> env) {
    if (credentials != null) {
      return credentials;
    }
    if (env.get("DSCTL_CREDENTIALS") != null && !env.get("DSCTL_CREDENTIALS").isEmpty()) {
      return Path.of(env.get("DSCTL_CREDENTIALS"));
    }
    String v = ConfigFile.text(config(env), "credentials");
    if (v != null) {
      return Path.of(v);
    }
    Path mine = configFile(env).resolveSibling("credentials.pem");
    if (Files.isReadable(mine)) {
      return mine;
    }
    if (Files.isReadable(COORDINATOR_ADMIN)) {
      return COORDINATOR_ADMIN;
    }
    throw new IllegalArgumentException("no credential: pass --credentials FILE, set DSCTL_CREDENTIALS or the config file's"
        + " credentials key, or put one in " + mine + " (ds-coordinator init writes admin.pem and viewer.pem into"
        + " its data directory's pki/); --insecure only for a coordinator started with --insecure");
  }

  /**
   * The one I/O thread of this call's channels (a command talks to one coordinator at a time), on
   * Java's own NIO rather than gRPC's shared epoll threads: with bin/dsctl's flag that keeps Netty
   * from loading its native transport at all, a call to a coordinator took 0.6 s instead of 0.95 s
   * (docs/dsctl.md, "Start-up"). Shut down once the command's channels have closed.
   */
  private EventLoopGroup ioThreads;

  /**
   * The largest answer dsctl reads: a listing comes whole, in one message, and gRPC's 4 MiB took
   * the pods of two nodes whose reports were at their bounds (4 MiB a node, docs/security.md): before
   * 2026-12-07 dsctl get pods -A then failed, "gRPC message exceeds maximum size", for every admin
   * (LargeListingTest).
   */
  static final int MAX_ANSWER_BYTES = 64 << 20;

  private NettyChannelBuilder channelTo(NettyChannelBuilder builder) {
    if (ioThreads == null) {
      ioThreads = new NioEventLoopGroup(1, new DefaultThreadFactory("dsctl-io", true));
    }
    return builder.eventLoopGroup(ioThreads).channelType(NioSocketChannel.class).maxInboundMessageSize(MAX_ANSWER_BYTES);
  }

  ManagedChannel openChannel(Map<String, String> env) {
    plaintext = resolveInsecure(env);
    if (plaintext) {
      return channelTo(NettyChannelBuilder.forTarget(address)).usePlaintext().build();
    }
    Path file = resolveCredentials(env);
    warnIfReadableByOthers(file);
    String pem = readCredential(file);
    io.grpc.ChannelCredentials creds;
    try {
      creds = Tls.client(pem);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
    return channelTo(NettyChannelBuilder.forTarget(address, creds)).overrideAuthority(Pki.SERVER_NAME).build();
  }

  /**
   * The credential file's PEM: a regular file of at most 1 MiB, through a link only root's or this
   * user's. `sudo dsctl` on the coordinator's host reads the service's pki/admin.pem, which the
   * service's user writes: until 2026-12-06 a FIFO put there held root's dsctl for good, and a link
   * to /dev/zero filled its heap (helper-113).
   */
  static String readCredential(Path file) {
    try {
      return io.dsfleet.common.OwnerOnlyFiles.readSmall(file, 1 << 20);
    } catch (java.io.UncheckedIOException e) {
      throw new IllegalArgumentException("cannot read the credential " + file + ": " + e.getCause().getMessage());
    }
  }

  /**
   * A credential holds a private key: readable by the group or everyone, anyone on this machine can
   * act as its holder. dsctl says so (and still uses it: the operator decides).
   */
  void warnIfReadableByOthers(Path file) {
    try {
      var mode = Files.getPosixFilePermissions(file);
      if (mode.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
          || mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
        err().println("dsctl: warning: the credential " + file + " is readable by "
            + (mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ) ? "everyone" : "its group") + " ("
            + java.nio.file.attribute.PosixFilePermissions.toString(mode) + "); it holds a private key: chmod 600 " + file);
      }
    } catch (UnsupportedOperationException | java.io.IOException e) {
      // not a POSIX file system, or unreadable (the read below says why)
    }
  }

  @Override
  public Integer call() {
    try {
      return callOnce();
    } finally {
      if (ioThreads != null) {
        ioThreads.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        ioThreads = null;
      }
    }
  }

  private Integer callOnce() {
    java.util.List<String> targets;
    try {
      targets = java.util.Arrays.stream(resolveAddress(System.getenv()).split(",")).map(String::strip)
          .filter(a -> !a.isEmpty()).toList();
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("no coordinator address given");
      }
    } catch (IllegalArgumentException e) {
      err().println("error: " + e.getMessage());
      return Dsctl.EXIT_USAGE;
    }
    address = targets.get(0);
    int next = 1;
    // a replica that does not lead refuses before doing anything and names the leader: go there;
    // an address that does not answer at all: try the next one given
    for (int hops = 0; ; hops++) {
      try {
        channel = openChannel(System.getenv());
      } catch (IllegalArgumentException e) {
        err().println("error: " + e.getMessage());
        return Dsctl.EXIT_USAGE;
      }
      try {
        return run(withRequestTimeout(ControlServiceGrpc.newBlockingStub(channel)));
      } catch (StatusRuntimeException e) {
        String leader = notLeaderAtStart(e);
        if (leader != null && hops < 10) {
          if (leader.isEmpty()) { // an election: ask the next replica in a moment
            sleepQuietly(500);
            address = targets.get(next++ % targets.size());
          } else {
            address = leader;
          }
          continue;
        }
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && leader == null && next < targets.size()
            && rootCause(e) instanceof java.net.ConnectException) {
          address = targets.get(next++);
          continue;
        }
        return refused(e);
      } catch (UsageException e) {
        err().println("error: " + e.getMessage());
        return Dsctl.EXIT_USAGE;
      } catch (Exception e) {
        err().println("error: " + e.getMessage());
        if (verbose) {
          e.printStackTrace(err());
        }
        return errorExit();
      } finally {
        channel.shutdownNow();
        awaitQuietly(channel); // closed on its I/O thread, which the command shuts down once it ends
      }
    }
  }

  /** The leader a replica named when it refused a call before doing anything (so repeating it elsewhere is safe). */
  private static String notLeaderAtStart(StatusRuntimeException e) {
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || e.getTrailers() == null) {
      return null;
    }
    String description = e.getStatus().getDescription();
    return description != null && description.contains("is not the leader") ? e.getTrailers().get(io.dsfleet.coordinator.LeaderGate.LEADER) : null;
  }

  private static void awaitQuietly(ManagedChannel channel) {
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Throwable rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root;
  }

  protected int refused(StatusRuntimeException e) {
    Status s = e.getStatus();
    boolean answered = e.getTrailers() != null && e.getTrailers().containsKey(io.dsfleet.coordinator.fleet.ControlException.ANSWERED);
    if (s.getCode() == Status.Code.UNAVAILABLE && !answered) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      String why = root != e && root.getMessage() != null ? root.getMessage()
          : s.getDescription() == null ? "unavailable" : s.getDescription();
      why = why.lines().findFirst().orElse(why); // Netty appends its channel pipeline on lines of their own
      String hint = root instanceof java.net.ConnectException ? ""
          : plaintext ? "; unless it runs --insecure, the coordinator serves TLS only: drop --insecure"
          : root instanceof javax.net.ssl.SSLException ? "; a coordinator run --insecure needs dsctl --insecure" : "";
      err().println("error: cannot reach the coordinator at " + address + " (" + why + ")" + hint);
    } else if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      err().println("error: the coordinator at " + address + " did not answer within " + Timeouts.describe(requestTimeout));
    } else {
      err().println("error: " + (s.getDescription() == null ? s.getCode().toString() : s.getDescription()));
    }
    if (verbose) {
      e.printStackTrace(err());
    }
    return errorExit();
  }

  /** The exit code of a refusal or failure: 1, or what the command's own codes leave for errors (dsctl diff: 2). */
  protected int errorExit() {
    return Dsctl.EXIT_REFUSED;
  }

  /** A duration flag's value ({@code 30s}, {@code 2h}); a bad one is a usage error naming the flag. */
  protected static java.time.Duration duration(String flag, String text) {
    try {
      return io.dsfleet.common.Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw new UsageException(flag + ": " + e.getMessage());
    }
  }

  /** Bad usage found after parsing (e.g. a malformed TYPE/NAME): exit 2. */
  public static final class UsageException extends RuntimeException {
    public UsageException(String message) {
      super(message);
    }
  }
}
