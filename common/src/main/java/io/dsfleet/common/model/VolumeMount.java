package io.dsfleet.common.model;

/** A volume mounted into a container. */
public record VolumeMount(String name, String mountPath, Boolean readOnly, String subPath, String mountPropagation) {}
