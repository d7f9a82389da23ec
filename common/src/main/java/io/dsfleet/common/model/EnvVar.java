package io.dsfleet.common.model;

/** An environment variable: a literal value or a reference. */
public record EnvVar(String name, String value, EnvVarSource valueFrom) {}
