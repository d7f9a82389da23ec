package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.VersionRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `dsctl version`: the client's version and, unless --client, the coordinator's. */
@Command(name = "version", description = "Print the client and coordinator versions.")
public final class VersionCommand extends ClientCommand {
  @Option(names = "--client", description = "Only the client's version; do not contact the coordinator.")
  boolean clientOnly;

  @Override
  public Integer call() {
    out().println("Client Version: dsctl " + Dsctl.Version.number());
    if (clientOnly) {
      return 0;
    }
    return super.call();
  }

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    out().println("Coordinator Version: " + control.version(VersionRequest.getDefaultInstance()).getVersion() + " (" + address() + ")");
    return 0;
  }
}
