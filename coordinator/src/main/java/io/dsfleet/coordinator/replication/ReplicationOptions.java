package io.dsfleet.coordinator.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One replica of a coordinator group: its id and every member's two addresses, the peer address
 * replicas replicate over (mutual TLS under the fleet CA) and the coordinator address agents and
 * dsctl use. Every {@code snapshotEvery} log entries the store is copied and the log before the
 * copy purged, a segment ({@code logSegmentBytes}) at a time. {@code bootstrap}: the group's first
 * replica on its first start forms a group of itself alone; the others join it (`ds-coordinator join`).
 */
public record ReplicationOptions(String id, List<Peer> peers, long snapshotEvery, Duration electionTimeout, long logSegmentBytes,
    boolean bootstrap) {
  public static final long DEFAULT_SNAPSHOT_EVERY = 10_000;
  public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofSeconds(1);
  public static final long DEFAULT_LOG_SEGMENT_BYTES = 8L << 20;

  /** A member: {@code ID,PEER_HOST:PORT,COORDINATOR_HOST:PORT}. */
  public record Peer(String id, String peerAddress, String coordinatorAddress) {
    public static Peer parse(String text) {
      String[] parts = text.split(",", -1);
      if (parts.length != 3) {
        throw new IllegalArgumentException("a peer is ID,PEER_HOST:PORT,COORDINATOR_HOST:PORT, got \"" + text + "\"");
      }
      return new Peer(requireId(parts[0].strip()), requireAddress(parts[1].strip(), text), requireAddress(parts[2].strip(), text));
    }

    @Override
    public String toString() {
      return id + "," + peerAddress + "," + coordinatorAddress;
    }
  }

  public ReplicationOptions {
    requireId(id);
    peers = List.copyOf(peers);
    Map<String, Peer> byId = new LinkedHashMap<>();
    for (Peer p : peers) {
      if (byId.put(p.id(), p) != null) {
        throw new IllegalArgumentException("peer id " + p.id() + " is listed twice");
      }
    }
    if (!byId.containsKey(id)) {
      throw new IllegalArgumentException("replica id " + id + " is not among the peers " + byId.keySet());
    }
    if (snapshotEvery < 1) {
      throw new IllegalArgumentException("snapshotEvery must be at least 1, got " + snapshotEvery);
    }
  }

  public static ReplicationOptions of(String id, List<String> peerTexts) {
    List<Peer> peers = new ArrayList<>();
    for (String p : peerTexts) {
      peers.add(Peer.parse(p));
    }
    return new ReplicationOptions(id, peers, DEFAULT_SNAPSHOT_EVERY, DEFAULT_ELECTION_TIMEOUT, DEFAULT_LOG_SEGMENT_BYTES, false);
  }

  public ReplicationOptions withSnapshotEvery(long entries) {
    return new ReplicationOptions(id, peers, entries, electionTimeout, logSegmentBytes, bootstrap);
  }

  public ReplicationOptions withBootstrap(boolean first) {
    return new ReplicationOptions(id, peers, snapshotEvery, electionTimeout, logSegmentBytes, first);
  }

  public ReplicationOptions withElectionTimeout(Duration timeout) {
    return new ReplicationOptions(id, peers, snapshotEvery, timeout, logSegmentBytes, bootstrap);
  }

  public Peer self() {
    return peers.stream().filter(p -> p.id().equals(id)).findFirst().orElseThrow();
  }

  static String requireId(String id) {
    if (id == null || !id.matches("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?")) {
      throw new IllegalArgumentException("a replica id is 1-32 lower-case letters, digits and '-', got \"" + id + "\"");
    }
    return id;
  }

  private static String requireAddress(String address, String in) {
    // the address is shown by dsctl replica list and logged (a joining replica gives its own)
    if (address.codePoints().anyMatch(c -> Character.isISOControl(c) || Character.isWhitespace(c))) {
      throw new IllegalArgumentException("peer \"" + in.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
          .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append) + "\" holds a space or control character");
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("\"" + address + "\" in peer \"" + in + "\" is not HOST:PORT");
    }
    try {
      int port = Integer.parseInt(address.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + address + "\" in peer \"" + in + "\" has no valid port");
    }
    return address;
  }
}
