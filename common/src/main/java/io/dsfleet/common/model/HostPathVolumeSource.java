package io.dsfleet.common.model;

/** A path on the host, with Kubernetes' type checks. */
public record HostPathVolumeSource(String path, String type) {}
