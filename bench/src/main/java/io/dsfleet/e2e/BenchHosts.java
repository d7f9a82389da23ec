package io.dsfleet.e2e;

import java.nio.file.Path;
import java.util.List;

/**
 * The multi-host test harness ({@link TestFleet}: network namespaces, a dockerd and an agent per
 * host, a coordinator, TLS) opened up for the benchmarks, which live in another module.
 */
public final class BenchHosts implements AutoCloseable {
  private final TestFleet fleet;

  public BenchHosts(int hosts) throws Exception {
    fleet = TestFleet.up(hosts);
  }

  /** The JVM flags a systemd unit of the repository at {@code repo} starts its program with. */
  public static List<String> unitJvmFlags(Path repo, String unit, String variable) {
    return TestFleet.unitJvmFlags(repo, unit, variable);
  }

  public Path root() {
    return fleet.root;
  }

  public String coordinatorAddress() {
    return fleet.coordinatorAddress();
  }

  public Path adminPem() {
    return fleet.pki().resolve("admin.pem");
  }

  /** Each host's Docker endpoint. */
  public List<String> dockerHosts() {
    return fleet.hosts.values().stream().map(h -> "unix://" + h.socket).toList();
  }

  /** Each host's address on the test bridge. */
  public List<String> addresses() {
    return fleet.hosts.values().stream().map(h -> h.ip).toList();
  }

  @Override
  public void close() {
    fleet.close();
  }
}
