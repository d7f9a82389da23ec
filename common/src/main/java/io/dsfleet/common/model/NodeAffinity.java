package io.dsfleet.common.model;

/** Required node affinity; preferred terms are accepted with a warning by the parser (a DaemonSet does not rank nodes). */
public record NodeAffinity(NodeSelector requiredDuringSchedulingIgnoredDuringExecution) {}
