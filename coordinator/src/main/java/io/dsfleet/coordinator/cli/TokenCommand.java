package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.CreateJoinTokenRequest;
import io.dsfleet.proto.v1.JoinTokenView;
import io.dsfleet.proto.v1.ListJoinTokensRequest;
import io.dsfleet.proto.v1.RevokeJoinTokenRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl token create|list|revoke`: join tokens (admin credential). */
@Command(name = "token", description = "Join tokens: create (shown once), list, revoke.",
    subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
public final class TokenCommand {
  @Command(name = "create", description = "Create a join token; it is printed once, the coordinator keeps only a hash.")
  public static final class Create extends ClientCommand {
    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "24h", description = "Valid for (default ${DEFAULT-VALUE}).")
    String ttl;

    @Option(names = "--description", defaultValue = "", description = "What the token is for.")
    String description;

    @Option(names = "--node", paramLabel = "NAME", defaultValue = "", description = "Admit only this node name; such a token"
        + " also re-admits a node that is a member (replacing its certificate), which no other token does.")
    String node;

    @Option(names = "--max-uses", paramLabel = "N", defaultValue = "0", description = "Joins it admits at most (default"
        + " unlimited until it expires; 1 with --node or --single-use).")
    int maxUses;

    @Option(names = "--single-use", description = "Admit one node, then stop working (same as --max-uses 1).")
    boolean singleUse;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      Duration d = duration("--ttl", ttl);
      int uses = singleUse || (!node.isEmpty() && maxUses == 0) ? 1 : maxUses;
      if (singleUse && maxUses > 1) {
        throw new UsageException("--single-use and --max-uses " + maxUses + " contradict each other");
      }
      var r = control.createJoinToken(CreateJoinTokenRequest.newBuilder().setTtlSeconds(d.toSeconds())
          .setDescription(description).setNodeName(node).setMaxUses(uses).build());
      out().println(r.getToken());
      err().println("token " + r.getView().getId() + " expires " + Instant.ofEpochMilli(r.getView().getExpiresMillis()));
      return 0;
    }
  }

  @Command(name = "list", description = "List join tokens (never their secrets).")
  public static final class ListTokens extends ClientCommand {
    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      Table t = new Table("ID", "STATE", "NODE", "USES", "EXPIRES", "DESCRIPTION");
      long now = System.currentTimeMillis();
      for (JoinTokenView v : control.listJoinTokens(ListJoinTokensRequest.getDefaultInstance()).getTokensList()) {
        // the coordinator's state (its clocks decide whether the token admits a node); judged here
        // only against a coordinator before helper-163, which sends none
        String state = !v.getState().isEmpty() ? v.getState() : v.getRevokedMillis() != 0 ? "revoked" : v.getExpiresMillis() <= now ? "expired"
            : v.getMaxUses() > 0 && v.getUses() >= v.getMaxUses() ? "used" : "valid";
        t.row(v.getId(), state, v.getNodeName().isEmpty() ? "<any new>" : v.getNodeName(),
            v.getUses() + (v.getMaxUses() > 0 ? "/" + v.getMaxUses() : ""), Instant.ofEpochMilli(v.getExpiresMillis()).toString(),
            v.getDescription());
      }
      t.print(out());
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a join token: nobody joins with it any more (joined nodes keep their certificates).")
  public static final class Revoke extends ClientCommand {
    @Parameters(paramLabel = "ID")
    List<String> ids;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      for (String id : ids) {
        control.revokeJoinToken(RevokeJoinTokenRequest.newBuilder().setId(id).build());
        out().println("token " + id + " revoked");
      }
      return 0;
    }
  }

  private TokenCommand() {}
}
