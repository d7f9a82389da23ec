package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.AddReplicaRequest;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.ListReplicasRequest;
import io.dsfleet.proto.v1.ListReplicasResponse;
import io.dsfleet.proto.v1.RemoveReplicaRequest;
import io.dsfleet.proto.v1.ReplicaView;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl replica list|add|remove`: the coordinator replicas of a group (docs/operations.md). */
@Command(name = "replica", description = "Coordinator replicas: list, add (prints the token the new replica joins with), remove.",
    subcommands = {ReplicaCommand.ListReplicas.class, ReplicaCommand.Add.class, ReplicaCommand.Remove.class})
public final class ReplicaCommand {
  static void print(ListReplicasResponse r, java.io.PrintWriter out) {
    Table t = new Table("ID", "ROLE", "PEER ADDRESS", "COORDINATOR ADDRESS", "COMMITTED");
    for (ReplicaView v : r.getReplicasList()) {
      t.row(v.getId(), v.getLeader() ? "leader" : "follower", v.getPeerAddress(), v.getCoordinatorAddress(),
          v.getMatchIndex() == 0 ? "?" : String.valueOf(v.getMatchIndex()));
    }
    t.print(out);
    // the leader's adds of replicas that joined: each ends a member (a row above) or failed, saying why
    for (var j : r.getJoinsList()) {
      out.println(j.getId() + " (" + j.getPeerAddress() + ", joined " + java.time.Instant.ofEpochMilli(j.getJoinedAtMillis())
          .truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + "): " + (j.getFailed() ? "" : "no member yet: ") + j.getState());
    }
  }

  @Command(name = "list", description = "The members, which one leads, and how far each has committed the log.")
  public static final class ListReplicas extends ClientCommand {
    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      ListReplicasResponse r = control.listReplicas(ListReplicasRequest.getDefaultInstance());
      print(r, out());
      out().flush();
      err().println("term " + r.getTerm() + ", leader's commit index " + r.getCommitIndex());
      return 0;
    }
  }

  @Command(name = "add", description = "Admit a replica: prints a single-use token for `ds-coordinator join` on its host;"
      + " the leader adds it to the group once it joined and caught up. A member whose data is lost is added the same way.")
  public static final class Add extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = "--peer-address", required = true, paramLabel = "HOST:PORT", description = "Where the replicas reach it (Raft).")
    String peerAddress;

    @Option(names = "--coordinator-address", required = true, paramLabel = "HOST:PORT", description = "Where agents and dsctl reach it.")
    String coordinatorAddress;

    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "1h", description = "The token is valid for (default ${DEFAULT-VALUE}).")
    String ttl;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      Duration d = duration("--ttl", ttl);
      var r = control.addReplica(AddReplicaRequest.newBuilder().setId(id).setPeerAddress(peerAddress)
          .setCoordinatorAddress(coordinatorAddress).setTtlSeconds(d.toSeconds()).build());
      out().println(r.getToken());
      err().println("on the new replica's host: ds-coordinator join --token TOKEN --coordinator " + address()
          + " (with its --replica-id " + id + " and --peer options), then ds-coordinator serve");
      return 0;
    }
  }

  @Command(name = "remove", description = "Take a replica out of the group (the group needs a majority of the rest).")
  public static final class Remove extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      print(control.removeReplica(RemoveReplicaRequest.newBuilder().setId(id).build()), out());
      return 0;
    }
  }

  private ReplicaCommand() {}
}
