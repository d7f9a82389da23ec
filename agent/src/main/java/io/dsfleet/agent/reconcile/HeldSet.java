package io.dsfleet.agent.reconcile;

/**
 * The desired set a node runs, as the session's open names it to the coordinator (SessionOpen: a coordinator sends
 * nothing to an agent that holds the set it would send): its version and digest ({@code DesiredState.digest}; "" from
 * a coordinator before 2026-12-07). The reconciler writes it before it puts a set in place, so an open never names an
 * older set than the one being put in place (the version a pass's report names is written after).
 */
public record HeldSet(long version, String digest) {}
