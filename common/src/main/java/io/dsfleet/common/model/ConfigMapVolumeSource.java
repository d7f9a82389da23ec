package io.dsfleet.common.model;

import java.util.List;

/** A ConfigMap's keys as files. */
public record ConfigMapVolumeSource(String name, List<KeyToPath> items, Integer defaultMode, Boolean optional) {}
