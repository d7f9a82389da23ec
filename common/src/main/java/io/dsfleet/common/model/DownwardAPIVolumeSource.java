package io.dsfleet.common.model;

import java.util.List;

/** Pod fields as files. */
public record DownwardAPIVolumeSource(List<DownwardAPIVolumeFile> items, Integer defaultMode) {}
