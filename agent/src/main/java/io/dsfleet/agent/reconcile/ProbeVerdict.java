package io.dsfleet.agent.reconcile;

import java.time.Instant;

/**
 * What the probes of one container run say, for the planner and the status builder.
 *
 * @param started no startup probe, or it has succeeded
 * @param ready the readiness probe's result once started (null: there is none)
 * @param readySince when the readiness probe last turned to success (null: not ready, or no probe)
 * @param kill why the container must be stopped (a failed liveness or startup probe), or null
 */
public record ProbeVerdict(boolean started, Boolean ready, Instant readySince, String kill) {
  public static final ProbeVerdict NONE = new ProbeVerdict(true, null, null, null);
}
