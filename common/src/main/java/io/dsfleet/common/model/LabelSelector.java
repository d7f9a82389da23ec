package io.dsfleet.common.model;

import java.util.List;
import java.util.Map;

/** A label selector: matchLabels ANDed with matchExpressions. */
public record LabelSelector(Map<String, String> matchLabels, List<LabelSelectorRequirement> matchExpressions) {}
