package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.model.Taint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How long a node's NoExecute taints have been there, which their tolerations' {@code
 * tolerationSeconds} are held against: what the wall clock says, but no more than this coordinator
 * has measured on the monotonic clock since it first saw the taint (plus its wall-clock age then).
 * A step of the wall clock ahead (NTP correcting a clock that ran behind, a VM restored from a
 * snapshot) so ages no taint: before helper-163 a day's step took every pod tolerating a NoExecute
 * taint for less than a day off its node at the node's next plan, on every node so tainted at once.
 * A step back still shortens an age (a pod is evicted later, never sooner). A taint loaded at a
 * start counts from its stored time as the wall clock says then, as a node loaded NotReady does.
 * The plan takes each taint as added at {@code now} less that age ({@link #update}, at each plan of
 * the node), and so do views, which show that time. Under the fleet's lock.
 */
final class TaintAges {
  /** When this coordinator first saw a taint (System.nanoTime), and its wall-clock age then. */
  private record Seen(long nanos, long wallAgeMillis) {}

  private final Map<String, Seen> seen = new HashMap<>();
  /** The taints whose age the wall clock overstates, by {@link #id}: the time they count as added at. */
  private volatile Map<String, Instant> steadyAdded = Map.of();

  private static boolean timed(Taint t) {
    return Taint.NO_EXECUTE.equals(t.effect()) && t.timeAdded() != null;
  }

  private static String id(Taint t) {
    return t.key() + "\0" + t.value() + "\0" + t.effect() + "\0" + t.timeAdded().toEpochMilli();
  }

  /**
   * Measures the node's taints at a plan: {@code now} on the wall clock, {@code nowNanos} on the
   * monotonic one. Returns whether the times {@link #apply} gives them changed.
   */
  boolean update(List<Taint> taints, Instant now, long nowNanos) {
    Map<String, Seen> present = new HashMap<>();
    Map<String, Instant> steady = new HashMap<>();
    for (Taint t : taints) {
      if (!timed(t)) {
        continue;
      }
      String id = id(t);
      long wallAge = Math.max(0, Duration.between(t.timeAdded(), now).toMillis());
      Seen s = seen.getOrDefault(id, new Seen(nowNanos, wallAge));
      present.put(id, s);
      long steadyAge = s.wallAgeMillis() + Math.max(0, (nowNanos - s.nanos()) / 1_000_000);
      if (steadyAge < wallAge) {
        steady.put(id, now.minusMillis(steadyAge));
      }
    }
    seen.clear();
    seen.putAll(present);
    Map<String, Instant> before = steadyAdded;
    steadyAdded = Map.copyOf(steady);
    return !steadyAdded.equals(before);
  }

  /** No NoExecute taint measured: an {@link #update} without one has nothing to change. */
  boolean isEmpty() {
    return seen.isEmpty();
  }

  /** The taints as the last {@link #update} timed them. */
  List<Taint> apply(List<Taint> taints) {
    Map<String, Instant> steady = steadyAdded;
    if (steady.isEmpty()) {
      return taints;
    }
    List<Taint> out = new ArrayList<>(taints.size());
    for (Taint t : taints) {
      Instant added = timed(t) ? steady.get(id(t)) : null;
      out.add(added == null ? t : new Taint(t.key(), t.value(), t.effect(), added));
    }
    return out;
  }
}
