package io.dsfleet.common.model;

/** A reference to a ConfigMap or Secret by name. */
public record NameReference(String name, Boolean optional) {}
