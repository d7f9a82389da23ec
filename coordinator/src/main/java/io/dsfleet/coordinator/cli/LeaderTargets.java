package io.dsfleet.coordinator.cli;

import io.dsfleet.common.LeaderTrailer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;

/**
 * Where a one-shot client (dsctl, `ds-coordinator join`) calls next among the replicas it was
 * given: the leader a replica named when it refused before doing anything (so calling again is
 * safe), the next replica half a second later during an election, the next address when one does
 * not answer at all; at most ten hops.
 */
public final class LeaderTargets {
  private static final int MAX_HOPS = 10;
  private static final long ELECTION_WAIT_MILLIS = 500;

  private final List<String> addresses;
  private String current;
  private int next = 1;
  private int hops;

  public LeaderTargets(List<String> addresses) {
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("no coordinator address given");
    }
    this.addresses = List.copyOf(addresses);
    this.current = this.addresses.get(0);
  }

  /** Comma-separated HOST:PORT list. */
  public static LeaderTargets parse(String commaSeparated) {
    return new LeaderTargets(java.util.Arrays.stream(commaSeparated.split(",")).map(String::strip).filter(a -> !a.isEmpty()).toList());
  }

  public String current() {
    return current;
  }

  /** After a failed call: true (and {@link #current()} moved) when calling again elsewhere is right. */
  public boolean moveAfter(StatusRuntimeException e) {
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || hops >= MAX_HOPS) {
      return false;
    }
    String leader = notLeaderAtStart(e);
    if (leader != null) {
      hops++;
      if (leader.isEmpty()) { // an election: ask the next replica in a moment
        try {
          Thread.sleep(ELECTION_WAIT_MILLIS);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return false;
        }
        current = addresses.get(next++ % addresses.size());
      } else {
        current = leader;
      }
      return true;
    }
    if (next < addresses.size() && rootCause(e) instanceof java.net.ConnectException) {
      hops++;
      current = addresses.get(next++);
      return true;
    }
    return false;
  }

  /** The leader a replica named when it refused a call before doing anything; null otherwise. */
  private static String notLeaderAtStart(StatusRuntimeException e) {
    String description = e.getStatus().getDescription();
    return e.getTrailers() != null && description != null && description.contains("is not the leader")
        ? e.getTrailers().get(LeaderTrailer.KEY) : null;
  }

  static Throwable rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root;
  }
}
