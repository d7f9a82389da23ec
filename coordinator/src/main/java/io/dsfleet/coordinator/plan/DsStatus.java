package io.dsfleet.coordinator.plan;

/** DaemonSet status counters, computed as Kubernetes' updateDaemonSetStatus does. */
public record DsStatus(int desired, int current, int ready, int updated, int available, int misscheduled, int unavailable) {}
