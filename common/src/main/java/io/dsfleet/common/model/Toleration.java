package io.dsfleet.common.model;

/** A toleration of node taints. */
public record Toleration(String key, String operator, String value, String effect, Long tolerationSeconds) {}
