package io.dsfleet.common.model;

import java.util.List;

/** One matchExpressions entry of a label selector (In, NotIn, Exists, DoesNotExist). */
public record LabelSelectorRequirement(String key, String operator, List<String> values) {}
