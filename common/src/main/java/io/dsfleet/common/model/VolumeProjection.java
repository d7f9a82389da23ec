package io.dsfleet.common.model;

/** One source of a projected volume: exactly one of these. */
public record VolumeProjection(ConfigMapProjection configMap, SecretProjection secret, DownwardAPIProjection downwardAPI) {}
