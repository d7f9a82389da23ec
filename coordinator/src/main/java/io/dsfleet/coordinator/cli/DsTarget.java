package io.dsfleet.coordinator.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The `ds/NAME [-n NAMESPACE]` every rollout and logs command takes. */
final class DsTarget {
  @Parameters(index = "0", paramLabel = "ds/NAME")
  String ref;

  @Option(names = {"-n", "--namespace"}, defaultValue = "default")
  String namespace;

  /** The DaemonSet's name; a malformed TYPE/NAME is a usage error. */
  String name() {
    return Kinds.dsRef(ref);
  }
}
