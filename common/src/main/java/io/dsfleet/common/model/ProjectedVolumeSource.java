package io.dsfleet.common.model;

import java.util.List;

/** Several ConfigMap, Secret and downward API sources in one directory. */
public record ProjectedVolumeSource(List<VolumeProjection> sources, Integer defaultMode) {}
