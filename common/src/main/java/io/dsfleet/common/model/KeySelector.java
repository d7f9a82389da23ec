package io.dsfleet.common.model;

/** One key of a ConfigMap or Secret. */
public record KeySelector(String name, String key, Boolean optional) {}
