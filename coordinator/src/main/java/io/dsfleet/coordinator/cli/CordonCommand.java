package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.CordonNodeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** `dsctl cordon NODE` and `dsctl uncordon NODE`. */
public final class CordonCommand {
  private CordonCommand() {}

  static int cordon(ClientCommand cmd, ControlServiceGrpc.ControlServiceBlockingStub control, String node, boolean on) {
    control.cordonNode(CordonNodeRequest.newBuilder().setNodeName(node).setUnschedulable(on).build());
    cmd.out().println("node/" + node + (on ? " cordoned" : " uncordoned"));
    return 0;
  }

  @Command(name = "cordon", description = "Mark a node unschedulable (DaemonSet pods tolerate this, as in Kubernetes).")
  public static final class Cordon extends ClientCommand {
    @Parameters(paramLabel = "NODE")
    String node;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      return cordon(this, control, node, true);
    }
  }

  @Command(name = "uncordon", description = "Mark a node schedulable again.")
  public static final class Uncordon extends ClientCommand {
    @Parameters(paramLabel = "NODE")
    String node;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      return cordon(this, control, node, false);
    }
  }
}
