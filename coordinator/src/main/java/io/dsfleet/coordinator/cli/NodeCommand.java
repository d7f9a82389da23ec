package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.RemoveNodeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl node rm NODE`. */
@Command(name = "node", description = "Node commands.", subcommands = {NodeCommand.Rm.class})
public final class NodeCommand {
  @Command(name = "rm", description = "Remove a node from the fleet; its pods are removed (a connected agent stops them).")
  public static final class Rm extends ClientCommand {
    @Parameters(paramLabel = "NODE")
    String node;

    @Option(names = "--revoke-token", description = "Also revoke the join token that admitted the node (nobody joins with it"
        + " any more).")
    boolean revokeToken;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      var r = control.removeNode(RemoveNodeRequest.newBuilder().setNodeName(node).setRevokeJoinToken(revokeToken).build());
      out().println("node/" + node + " removed");
      if (revokeToken) {
        out().println(r.getRevokedJoinToken().isEmpty() ? "no join token to revoke (the node was admitted before tokens were"
            + " recorded, or its token is gone)" : "token " + r.getRevokedJoinToken() + " revoked");
      }
      return 0;
    }
  }
}
