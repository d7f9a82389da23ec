package io.dsfleet.common.model;

/** A scratch directory for the pod's lifetime; medium Memory is a tmpfs. */
public record EmptyDirVolumeSource(String medium, String sizeLimit) {}
