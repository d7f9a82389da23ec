package io.dsfleet.coordinator;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.store.StoreReplacement;
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
    DirectoryOwner data;
    DirectoryOwner pki;
    try {
      OwnerOnlyFiles.directory(dir); // before the token is used, as pki/ below: refused after, the single-use token was burnt
      data = DirectoryOwner.open(dir, opening);
    } catch (IOException | java.io.UncheckedIOException e) {
      System.err.println("ds-coordinator: " + e.getMessage());
      return 2;
    }
    try {
      // held from here: whatever the directory's owner puts at pki/ meanwhile, the CA goes into the
      // directory checked now; none yet is made once the leader answered (a refused join makes nothing)
      pki = data.subdirectory("pki");
    } catch (IOException e) {
      System.err.println("ds-coordinator: " + e.getMessage());
      close(data);
      return 2;
    }
    try (data; DirectoryOwner opened = pki) {
      try {
        return join(r, dir, data, opened, parsed, text);
      } finally {
        if (made != null) {
          close(made);
        }
      }
    } catch (IOException e) {
      System.err.println("ds-coordinator: " + e.getMessage());
      return 1;
    }
  }

  /** A test's hook: runs with an entry's name as the join is about to open it, in the data directory or pki/ (a swap then). */
  java.util.function.Consumer<String> opening = name -> { };

  /** A test's hook: runs once the data directory is checked and held, before the token is sent. */
  Runnable checked = () -> {};

  /** A test's hook: runs once the store is in place, before the join gives what it wrote (a kill there). */
  Runnable stored = () -> {};

  private int join(ReplicationOptions r, Path dir, DirectoryOwner data, DirectoryOwner pki, JoinToken parsed, String text) {
    checked.run();
    List<String> targets = Arrays.stream(coordinators.split(",")).map(String::strip).filter(a -> !a.isEmpty()).toList();
    ReplicaJoinRequest request = ReplicaJoinRequest.newBuilder().setToken(text).setId(r.id())
        .setPeerAddress(r.self().peerAddress()).setCoordinatorAddress(r.self().coordinatorAddress()).build();
    String target = targets.get(0);
    int next = 1;
    for (int hops = 0; ; hops++) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(target, Tls.pinned(parsed.caHash()))
          .overrideAuthority(Pki.SERVER_NAME).maxInboundMessageSize(8 << 20).build();
      try {
        String members = write(dir, data, pki, ReplicaServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).join(request));
        System.out.println("replica " + r.id() + " joined the group through " + target + "; data in " + dir
            + ". Start it with `ds-coordinator serve` and the same replica options: the leader adds it once it caught up"
            + " (`dsctl replica list` shows how its add stands, or why it failed)."
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
        clean(data);
        return 1;
      } catch (IOException | RuntimeException e) {
        System.err.println("ds-coordinator: the join failed: " + e.getMessage());
        clean(data);
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

  /**
   * Writes what the leader sent, into the directories held since the check ({@code pki} made now
   * when there was none), and gives it to the data directory's owner; returns the members the group
   * will have, as the leader listed them.
   */
  private String write(Path dir, DirectoryOwner data, DirectoryOwner held, Iterator<ReplicaJoinChunk> chunks) throws IOException {
    ReplicaJoinChunk first = chunks.next();
    DirectoryOwner pki = held != null ? held : made != null ? made : (made = data.makeSubdirectory("pki"));
    pki.ownerOnly();
    pki.write("ca.crt", first.getCaPem().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    pki.write("ca.key", first.getCaKeyPem().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    pki.write("secrets.key", first.getSecretsKey().toByteArray()); // SqliteStore.secretsKey
    var owner = data.attributes();
    // given before the store comes: a join that fails while it does (the leader gone, a full disk)
    // keeps them in a pki/ that was there, and root's 0600 ones kept the service from starting
    pki.giveTo(owner, PKI);
    // streamed into the copy's own descriptor, never reopened by name (StoreReplacement), and the
    // owner's before it is the store: a join killed once it is (Ctrl-C) left root's, which the
    // service could not open and the next join refused as a store already there
    StoreReplacement.replace(dir, out -> {
      OutputStream stream = java.nio.channels.Channels.newOutputStream(out);
      while (chunks.hasNext()) {
        chunks.next().getStore().writeTo(stream);
      }
    }, written -> data.giveTo(owner, List.of(StoreReplacement.COPY)));
    stored.run();
    data.giveTo(owner, DirectoryOwner.STORE);
    return first.getMembersList().stream().map(m -> m.getId() + " (" + m.getCoordinatorAddress() + ")")
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** What the join writes into pki/. */
  private static final List<String> PKI = List.of("ca.crt", "ca.key", "secrets.key");

  /** pki/ when this join made it, for {@link #clean}. */
  private DirectoryOwner made;

  /**
   * A join that did not finish leaves no half a store behind, nor a pki/ it made (the CA files in
   * one that was there are kept, the directory owner's: the next join overwrites them).
   */
  private void clean(DirectoryOwner data) {
    try {
      data.delete("dsfleet.db");
      if (made != null) {
        for (String f : PKI) {
          made.delete(f);
          made.delete(f + ".tmp");
        }
        data.delete("pki");
      }
    } catch (IOException ignored) {
      // nothing more to do
    }
  }

  private static void close(DirectoryOwner d) {
    try {
      d.close();
    } catch (IOException ignored) {
      // read-only: nothing to lose
    }
  }
}
