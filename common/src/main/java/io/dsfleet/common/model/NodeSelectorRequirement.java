package io.dsfleet.common.model;

import java.util.List;

/** One node selector requirement (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
public record NodeSelectorRequirement(String key, String operator, List<String> values) {}
