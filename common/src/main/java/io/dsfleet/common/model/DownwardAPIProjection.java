package io.dsfleet.common.model;

import java.util.List;

/** Pod fields in a projected volume. */
public record DownwardAPIProjection(List<DownwardAPIVolumeFile> items) {}
