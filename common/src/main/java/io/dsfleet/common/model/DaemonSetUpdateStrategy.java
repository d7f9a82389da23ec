package io.dsfleet.common.model;

/** RollingUpdate (default) or OnDelete. */
public record DaemonSetUpdateStrategy(String type, RollingUpdateDaemonSet rollingUpdate) {}
