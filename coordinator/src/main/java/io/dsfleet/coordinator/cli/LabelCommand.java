package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.LabelNodeRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl label node NAME k=v ... k-`. */
@Command(name = "label", description = "Set (k=v) or remove (k-) labels of a node. dsctl's labels win over the agent's.")
public final class LabelCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "node")
  String type;

  @Parameters(index = "1", paramLabel = "NAME")
  String name;

  @Parameters(index = "2..*", arity = "1..*", paramLabel = "KEY=VALUE|KEY-")
  List<String> changes;

  @Option(names = "--overwrite", description = "Allow changing an existing value.")
  boolean overwrite;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    if (Kinds.parse(type) != io.dsfleet.proto.v1.ObjectKind.NODE) {
      throw new UsageException("only nodes can be labelled");
    }
    LabelNodeRequest.Builder b = LabelNodeRequest.newBuilder().setNodeName(name).setOverwrite(overwrite);
    for (String c : changes) {
      if (c.endsWith("-") && !c.contains("=")) {
        b.addRemove(c.substring(0, c.length() - 1));
      } else if (c.indexOf('=') > 0) {
        b.putSet(c.substring(0, c.indexOf('=')), c.substring(c.indexOf('=') + 1));
      } else {
        throw new UsageException("invalid label change \"" + c + "\": use KEY=VALUE or KEY-");
      }
    }
    control.labelNode(b.build());
    out().println("node/" + name + " labeled");
    return 0;
  }
}
