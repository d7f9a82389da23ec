package io.dsfleet.common.model;

import java.util.Map;

/** cpu and memory limits and requests, as Kubernetes quantities. */
public record ResourceRequirements(Map<String, String> limits, Map<String, String> requests) {}
