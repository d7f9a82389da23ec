package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.DeleteRequest;
import io.dsfleet.proto.v1.ObjectKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl delete ds|configmap|secret NAME [--cascade=background|orphan]`. */
@Command(name = "delete", description = "Delete a DaemonSet (its pods on every node too), a pod (replaced at the current revision), a ConfigMap or a Secret.")
public final class DeleteCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "TYPE")
  String type;

  @Parameters(index = "1", paramLabel = "NAME")
  String name;

  @Option(names = {"-n", "--namespace"}, defaultValue = "default")
  String namespace;

  @Option(names = "--cascade", defaultValue = "background", paramLabel = "background|orphan",
      description = "background (default): remove the DaemonSet's pods everywhere; orphan: leave their containers running, unmanaged.")
  String cascade;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    ObjectKind kind = Kinds.parse(type);
    if (!cascade.equals("background") && !cascade.equals("foreground") && !cascade.equals("orphan") && !cascade.equals("true") && !cascade.equals("false")) {
      throw new UsageException("--cascade must be background, foreground or orphan");
    }
    boolean orphan = cascade.equals("orphan") || cascade.equals("false");
    if (kind == ObjectKind.POD) {
      out().println(control.delete(DeleteRequest.newBuilder().setKind(kind).setNamespace(namespace).setName(name).build()).getMessage());
      return 0;
    }
    control.delete(DeleteRequest.newBuilder().setKind(kind).setNamespace(namespace).setName(name).setCascade(!orphan).build());
    String what = switch (kind) {
      case DAEMON_SET -> "daemonset.apps";
      case CONFIG_MAP -> "configmap";
      case SECRET -> "secret";
      default -> kind.name().toLowerCase();
    };
    out().println(what + " \"" + name + "\" deleted" + (orphan ? " (pods orphaned)" : ""));
    return 0;
  }
}
