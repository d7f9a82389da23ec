package io.dsfleet.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Why a replica group the bench forms ({@link LocalFleet#startGroup}) did not form in time, in the
 * exception's message, which CI prints (a test's stderr it does not): what the group last answered
 * (its members' match indexes, each join's state), which replica process ended, and each replica's
 * last warning; every membership line of each replica's log goes to stderr (the work directory goes
 * with the test).
 */
final class GroupNotFormed {
  private GroupNotFormed() {}

  /** Keeps in {@code seen} what {@code from} last answered: each member's match index, where each join that made no member stands. */
  static void answered(StringBuilder seen, String from, io.dsfleet.proto.v1.ListReplicasResponse replicas) {
    seen.setLength(0);
    seen.append(from).append(" answered");
    replicas.getReplicasList().forEach(m -> seen.append(' ').append(m.getId()).append(" match ").append(m.getMatchIndex()));
    replicas.getJoinsList().forEach(j -> seen.append("; ").append(j.getId()).append(": ").append(j.getState()));
  }

  /**
   * @param timedOut the wait's failure
   * @param seen what the group last answered
   * @param first the first replica's process (c1; its log {@code coordinator.log})
   * @param others the other replicas' processes by id (their logs {@code coordinator-ID.log})
   * @param dir the fleet's work directory
   */
  static IllegalStateException of(IllegalStateException timedOut, CharSequence seen, Process first, Map<String, Process> others, Path dir) {
    Map<String, Process> replicas = new java.util.LinkedHashMap<>();
    replicas.put("c1", first);
    replicas.putAll(others);
    StringBuilder why = new StringBuilder(timedOut.getMessage()).append("; last: ").append(seen);
    replicas.forEach((id, p) -> why.append("; ").append(id).append(p.isAlive() ? " running" : " exited " + p.exitValue()));
    for (String id : replicas.keySet()) {
      Path log = dir.resolve(id.equals("c1") ? "coordinator.log" : "coordinator-" + id + ".log");
      try {
        String last = null;
        for (String l : Files.readAllLines(log)) {
          if (l.contains("member") || l.contains("replica c") || l.contains(" ERROR ") || l.contains(" WARN ")) {
            System.err.println("  " + id + ": " + cut(l));
          }
          if (l.contains(" ERROR ") || l.contains(" WARN ") || l.contains("Exception")) {
            last = l;
          }
        }
        if (last != null) {
          why.append("; ").append(id).append("'s last warning: ").append(cut(last));
        }
      } catch (IOException x) {
        System.err.println("  " + id + ": no log " + log + ": " + x.getMessage());
      }
    }
    return new IllegalStateException(why.toString(), timedOut);
  }

  private static String cut(String line) {
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }
}
