package io.dsfleet.common.model;

/** Every key of a ConfigMap or Secret as environment variables. */
public record EnvFromSource(String prefix, NameReference configMapRef, NameReference secretRef) {}
