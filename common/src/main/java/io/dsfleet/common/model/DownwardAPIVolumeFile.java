package io.dsfleet.common.model;

/** One pod field as a file. */
public record DownwardAPIVolumeFile(String path, ObjectFieldSelector fieldRef, Integer mode) {}
