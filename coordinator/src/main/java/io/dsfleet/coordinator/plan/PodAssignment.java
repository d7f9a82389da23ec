package io.dsfleet.coordinator.plan;

/** One pod a node should run: DaemonSet, pod name, template hash and revision. */
public record PodAssignment(String dsKey, String podName, String hash, long revision) {}
