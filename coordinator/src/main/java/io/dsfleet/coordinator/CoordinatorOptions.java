package io.dsfleet.coordinator;

import io.dsfleet.coordinator.fleet.FleetOptions;
import java.nio.file.Path;
import java.time.Duration;

/**
 * ds-coordinator's options: flags, or keys of the config file (same names, camelCase), flags winning.
 *
 * @param listen host:port to serve on (default 127.0.0.1:7443)
 * @param dataDir the embedded store's directory (default /var/lib/ds-coordinator)
 * @param tickInterval how often leases are checked (default 1 s)
 * @param maxMessageBytes largest message accepted from any client (default 4 MiB)
 */
public record CoordinatorOptions(String host, int port, Path dataDir, FleetOptions fleet, Duration tickInterval,
    int maxMessageBytes) {}
