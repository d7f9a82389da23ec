package io.dsfleet.coordinator;

import io.dsfleet.coordinator.fleet.FleetOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * ds-coordinator's options: flags, or keys of the config file (same names, camelCase), flags winning.
 *
 * @param host host to serve on; with port from {@code listen} (default 127.0.0.1:7443)
 * @param dataDir the embedded store's directory, with the fleet's keys in {@code pki/} (default /var/lib/ds-coordinator)
 * @param tickInterval how often leases are checked (default 1 s)
 * @param maxMessageBytes largest message accepted from any client (default 4 MiB)
 * @param insecure plaintext, no credentials: anyone who can connect may do anything (default false)
 * @param tlsNames extra DNS names and IP addresses for the serving certificate
 * @param nodeCertTtl how long a node certificate is valid; agents renew it when a third is left (default 30 days)
 * @param connections caps on open connections and the idle timeout ({@link ConnectionLimits.Settings#defaults()})
 * @param replication this coordinator as one replica of a group; null for a single coordinator (the default)
 */
public record CoordinatorOptions(String host, int port, Path dataDir, FleetOptions fleet, Duration tickInterval,
    int maxMessageBytes, boolean insecure, List<String> tlsNames, Duration nodeCertTtl, ConnectionLimits.Settings connections,
    io.dsfleet.coordinator.replication.ReplicationOptions replication) {
  public CoordinatorOptions {
    tlsNames = List.copyOf(tlsNames);
    if (replication != null && insecure) {
      throw new IllegalArgumentException("replicas speak mutual TLS under the fleet CA: --insecure cannot run a group");
    }
  }

  /** A single coordinator. */
  public CoordinatorOptions(String host, int port, Path dataDir, FleetOptions fleet, Duration tickInterval, int maxMessageBytes,
      boolean insecure, List<String> tlsNames, Duration nodeCertTtl, ConnectionLimits.Settings connections) {
    this(host, port, dataDir, fleet, tickInterval, maxMessageBytes, insecure, tlsNames, nodeCertTtl, connections, null);
  }

  public CoordinatorOptions withReplication(io.dsfleet.coordinator.replication.ReplicationOptions r) {
    return new CoordinatorOptions(host, port, dataDir, fleet, tickInterval, maxMessageBytes, insecure, tlsNames, nodeCertTtl,
        connections, r);
  }

  public static final Duration DEFAULT_NODE_CERT_TTL = Duration.ofDays(30);
}
