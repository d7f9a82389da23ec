package io.dsfleet.common.model;

/** Rolling update budget: an absolute number or a percentage of desired nodes. */
public record RollingUpdateDaemonSet(IntOrString maxUnavailable, IntOrString maxSurge) {}
