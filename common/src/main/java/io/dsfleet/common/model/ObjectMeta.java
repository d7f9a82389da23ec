package io.dsfleet.common.model;

import java.util.Map;

/** Object metadata: name, namespace, labels, annotations and the resource version used for optimistic concurrency. */
public record ObjectMeta(String name, String namespace, Map<String, String> labels, Map<String, String> annotations, String resourceVersion) {}
