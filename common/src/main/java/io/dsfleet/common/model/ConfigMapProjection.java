package io.dsfleet.common.model;

import java.util.List;

/** A ConfigMap in a projected volume. */
public record ConfigMapProjection(String name, List<KeyToPath> items, Boolean optional) {}
