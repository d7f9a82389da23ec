package io.dsfleet.common.model;

/** The pod template of a DaemonSet. */
public record PodTemplateSpec(TemplateMetadata metadata, PodSpec spec) {}
