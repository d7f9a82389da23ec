package io.dsfleet.common.model;

/** One key projected to a file path. */
public record KeyToPath(String key, String path, Integer mode) {}
