package io.dsfleet.agent.reconcile;

import java.time.Instant;

/**
 * What the probes of one container run say, for the planner and the status builder.
 *
 * @param started no startup probe, or it has succeeded
 * @param ready the readiness probe's result once started (null: there is none)
 * @param readySince when the readiness probe last turned to success (null: not ready, or no probe)
 * @param kill why the container must be stopped (a failed liveness or startup probe), or null
 * @param evict the kill is an eviction ({@link Evictions}): at once, with no grace period and no
 *     preStop hook, as the kubelet evicts for an emptyDir over its limit; init containers too
 */
public record ProbeVerdict(boolean started, Boolean ready, Instant readySince, String kill, boolean evict) {
  public static final ProbeVerdict NONE = new ProbeVerdict(true, null, null, null);

  public ProbeVerdict(boolean started, Boolean ready, Instant readySince, String kill) {
    this(started, ready, readySince, kill, false);
  }
}
