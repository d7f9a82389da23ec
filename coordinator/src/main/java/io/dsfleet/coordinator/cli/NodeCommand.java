package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.RemoveNodeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** `dsctl node rm NODE`. */
@Command(name = "node", description = "Node commands.", subcommands = {NodeCommand.Rm.class})
public final class NodeCommand {
  @Command(name = "rm", description = "Remove a node from the fleet; its pods are removed (a connected agent stops them).")
  public static final class Rm extends ClientCommand {
    @Parameters(paramLabel = "NODE")
    String node;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      control.removeNode(RemoveNodeRequest.newBuilder().setNodeName(node).build());
      out().println("node/" + node + " removed");
      return 0;
    }
  }
}
