package io.dsfleet.common.model;

/** Affinity: only node affinity is honoured (a DaemonSet's self anti-affinity per host is accepted with a warning by the parser). */
public record Affinity(NodeAffinity nodeAffinity) {}
