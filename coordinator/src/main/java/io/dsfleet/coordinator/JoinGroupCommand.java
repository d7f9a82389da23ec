package io.dsfleet.coordinator;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.proto.v1.ReplicaJoinChunk;
import io.dsfleet.proto.v1.ReplicaJoinRequest;
import io.dsfleet.proto.v1.ReplicaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * ds-coordinator join: makes this host's data directory a replica of an existing group. The
 * leader (found through any member) checks the single-use token, then sends the fleet CA with its
 * key, the key Secrets are sealed with, and a copy of its store; `serve` with the same replica
 * options then starts from that copy, and the leader adds the replica to the group once it caught
 * up. The token pins the fleet CA: nothing is sent to or taken from a coordinator of another CA.
 */
@Command(name = "join", mixinStandardHelpOptions = true, description = "Join a coordinator group as a new replica (token from"
    + " `dsctl replica add`).")
final class JoinGroupCommand implements Callable<Integer> {
  private static final Metadata.Key<String> LEADER = Metadata.Key.of(LeaderGate.LEADER_KEY, Metadata.ASCII_STRING_MARSHALLER);

  @CommandLine.Mixin
  CoordinatorMain.Settings settings;

  @Option(names = "--token", required = true, paramLabel = "TOKEN|-", description = "The token `dsctl replica add` printed; - reads it"
      + " from standard input (on the command line every local user sees it in ps while the join runs).")
  String token;

  @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT[,HOST:PORT...]", description = "Any member of the group.")
  String coordinators;

  @Override
  public Integer call() {
    CoordinatorOptions options = settings.optionsOrReport();
    return options == null ? 2 : CoordinatorMain.locked(options.dataDir(), "join", () -> join(options));
  }

  private int join(CoordinatorOptions options) {
    ReplicationOptions r = options.replication();
    if (r == null) {
      System.err.println("ds-coordinator: join needs this replica's id and peers (--replica-id, --peer, or the config file)");
      return 2;
    }
    Path dir = options.dataDir();
    String held = CoordinatorMain.Settings.heldStore(dir);
    if (held != null) {
      System.err.println("ds-coordinator: " + dir + " already holds a store (" + held + "); a replica joins with an empty data"
          + " directory (its data comes from the group)");
      return 2;
    }
    if (Files.exists(dir.resolve(BackupCommands.RESTORING))) {
      // a restore killed while copying leaves its mark and no store: a replica joined there would
      // never serve (serve refuses the mark) and restore would then take the joined store as its own
      System.err.println("ds-coordinator: a restore into " + dir + " did not finish (" + dir.resolve(BackupCommands.RESTORING)
          + " is there); a replica joins with an empty data directory: run ds-coordinator restore again, or empty it");
      return 2;
    }
    String text = token.equals("-") ? firstLine() : token.strip();
    if (token.equals("-") && text.isEmpty()) {
      System.err.println("ds-coordinator: no token on standard input (--token -): give the token `dsctl replica add` printed");
      return 2;
    }
    JoinToken parsed;
    try {
      parsed = JoinToken.parse(text);
    } catch (IllegalArgumentException e) {
      System.err.println("ds-coordinator: the token is not a join token: " + e.getMessage());
      return 2;
    }
    Path pki;
    try {
      OwnerOnlyFiles.directory(dir); // before the token is used: pki/ in a directory another user owns could be swapped
      // pki/ too: refused after the token's use (root's new pki/ in the service's directory), the join burnt the single-use token
      pki = OwnerOnlyFiles.directory(dir.resolve("pki"));
    } catch (java.io.UncheckedIOException e) {
      System.err.println("ds-coordinator: " + e.getMessage());
      return 2;
    }
    List<String> targets = Arrays.stream(coordinators.split(",")).map(String::strip).filter(a -> !a.isEmpty()).toList();
    ReplicaJoinRequest request = ReplicaJoinRequest.newBuilder().setToken(text).setId(r.id())
        .setPeerAddress(r.self().peerAddress()).setCoordinatorAddress(r.self().coordinatorAddress()).build();
    String target = targets.get(0);
    int next = 1;
    for (int hops = 0; ; hops++) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(target, Tls.pinned(parsed.caHash()))
          .overrideAuthority(Pki.SERVER_NAME).maxInboundMessageSize(8 << 20).build();
      try {
        String members = write(dir, pki, ReplicaServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).join(request));
        System.out.println("replica " + r.id() + " joined the group through " + target + "; data in " + dir
            + ". Start it with `ds-coordinator serve` and the same replica options: the leader adds it once it caught up."
            + " The group will be: " + members);
        return 0;
      } catch (StatusRuntimeException e) {
        String leader = e.getTrailers() == null ? null : e.getTrailers().get(LEADER);
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && leader != null && hops < 10) {
          if (leader.isEmpty()) { // an election: ask the next member in a moment
            java.util.concurrent.locks.LockSupport.parkNanos(500_000_000L);
            target = targets.get(next++ % targets.size());
          } else {
            target = leader;
          }
          continue;
        }
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && next < targets.size()) {
          target = targets.get(next++);
          continue;
        }
        System.err.println("ds-coordinator: the join failed at " + target + ": " + e.getStatus().getCode() + " "
            + e.getStatus().getDescription());
        clean(dir);
        return 1;
      } catch (IOException | RuntimeException e) {
        System.err.println("ds-coordinator: the join failed: " + e.getMessage());
        clean(dir);
        return 1;
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * The token from standard input: a command line is readable by every local user (ps,
   * /proc/PID/cmdline) while the join runs, and whoever sends the single-use token first gets the
   * CA's key; "" when there is none.
   */
  private static String firstLine() {
    try {
      String line = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8)).readLine();
      return line == null ? "" : line.strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** Writes what the leader sent; returns the members the group will have, as the leader listed them. */
  private static String write(Path dir, Path pki, Iterator<ReplicaJoinChunk> chunks) throws IOException {
    ReplicaJoinChunk first = chunks.next();
    OwnerOnlyFiles.write(pki.resolve("ca.crt"), first.getCaPem());
    OwnerOnlyFiles.write(pki.resolve("ca.key"), first.getCaKeyPem());
    OwnerOnlyFiles.write(SqliteStore.secretsKey(dir), first.getSecretsKey().toByteArray());
    Path partial = dir.resolve("dsfleet.db.joining");
    Files.deleteIfExists(partial);
    try (OutputStream out = java.nio.channels.Channels.newOutputStream(OwnerOnlyFiles.createNew(partial))) {
      while (chunks.hasNext()) {
        chunks.next().getStore().writeTo(out);
      }
    }
    SqliteStore.replaceWith(dir, partial);
    Files.delete(partial);
    List<Path> written = new java.util.ArrayList<>(List.of(pki, pki.resolve("ca.crt"), pki.resolve("ca.key"), SqliteStore.secretsKey(dir)));
    written.addAll(DirectoryOwner.store(dir));
    DirectoryOwner.give(dir, written);
    return first.getMembersList().stream().map(m -> m.getId() + " (" + m.getCoordinatorAddress() + ")")
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** A join that did not finish leaves no half a store behind (the CA files are kept: the next join overwrites them). */
  private static void clean(Path dir) {
    try {
      Files.deleteIfExists(dir.resolve("dsfleet.db.joining"));
      Files.deleteIfExists(dir.resolve("dsfleet.db"));
    } catch (IOException ignored) {
      // nothing more to do
    }
  }
}
