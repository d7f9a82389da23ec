package io.dsfleet.coordinator.cli;

import io.dsfleet.common.model.Taint;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.TaintNodeRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl taint node NAME key=value:Effect ... key[:Effect]-`, as kubectl. */
@Command(name = "taint", description = "Add (key=value:Effect) or remove (key:Effect- or key-) taints of a node.")
public final class TaintCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "node")
  String type;

  @Parameters(index = "1", paramLabel = "NAME")
  String name;

  @Parameters(index = "2..*", arity = "1..*", paramLabel = "KEY=VALUE:EFFECT|KEY[:EFFECT]-")
  List<String> changes;

  @Option(names = "--overwrite", description = "Allow changing the value of an existing taint.")
  boolean overwrite;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    if (Kinds.parse(type) != io.dsfleet.proto.v1.ObjectKind.NODE) {
      throw new UsageException("only nodes can be tainted");
    }
    TaintNodeRequest.Builder b = TaintNodeRequest.newBuilder().setNodeName(name).setOverwrite(overwrite);
    for (String c : changes) {
      if (c.endsWith("-")) {
        String spec = c.substring(0, c.length() - 1);
        int colon = spec.lastIndexOf(':');
        String key = colon < 0 ? spec : spec.substring(0, colon);
        String effect = colon < 0 ? "" : spec.substring(colon + 1);
        if (!effect.isEmpty() && !Taint.EFFECTS.contains(effect)) {
          throw new UsageException("invalid taint effect \"" + effect + "\" in \"" + c + "\"");
        }
        b.addRemove(io.dsfleet.proto.v1.Taint.newBuilder().setKey(key.contains("=") ? key.substring(0, key.indexOf('=')) : key).setEffect(effect));
      } else {
        Taint t;
        try {
          t = Taint.parse(c);
        } catch (IllegalArgumentException e) {
          throw new UsageException(e.getMessage());
        }
        b.addAdd(io.dsfleet.proto.v1.Taint.newBuilder().setKey(t.key()).setValue(t.value()).setEffect(t.effect()));
      }
    }
    control.taintNode(b.build());
    out().println("node/" + name + " tainted");
    return 0;
  }
}
