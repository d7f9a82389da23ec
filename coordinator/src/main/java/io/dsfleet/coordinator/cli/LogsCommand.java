package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogsRequest;
import java.util.Iterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Mixin;

/** `dsctl logs ds/NAME [--node N] [-c C] [-f] [--tail N]`: every node's pod log, each line prefixed by its node. */
@Command(name = "logs", description = "Print the logs of a DaemonSet's pods, fetched from the agents; lines prefixed by node.")
public final class LogsCommand extends ClientCommand {
  @Mixin DsTarget ds;

  @Option(names = "--node", paramLabel = "NODE", description = "Only this node's pod.")
  String node;

  @Option(names = {"-c", "--container"}, paramLabel = "NAME", description = "Container (default: the pod's first).")
  String container;

  @Option(names = {"-p", "--previous"}, description = "The container's run before its latest (a crash-looping container's"
      + " last crash), as kubectl logs --previous.")
  boolean previous;

  @Option(names = {"-f", "--follow"}, description = "Keep streaming new lines.")
  boolean follow;

  @Option(names = "--tail", defaultValue = "-1", paramLabel = "N",
      description = "Only the last N lines of each pod (0: none, with -f only the lines that come; default: all).")
  int tail;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    String name = ds.name();
    var stub = ControlServiceGrpc.newBlockingStub(channel());
    if (!follow) {
      stub = withRequestTimeout(stub);
    }
    // LogsRequest's tail: 0 all, negative none before now
    Iterator<LogLine> lines = stub.logs(LogsRequest.newBuilder().setNamespace(ds.namespace).setDaemonSet(name)
        .setNodeName(node == null ? "" : node).setContainer(container == null ? "" : container).setFollow(follow)
        .setTailLines(tail < 0 ? 0 : tail == 0 ? -1 : tail).setPrevious(previous).build());
    while (lines.hasNext()) {
      LogLine l = lines.next();
      out().println("[" + l.getNodeName() + "] " + io.dsfleet.coordinator.fleet.AgentText.logLine(l.getLine()));
      out().flush();
    }
    return 0;
  }
}
