package io.dsfleet.common.model;

import java.util.List;

/** One node selector term: every expression and field requirement must hold. */
public record NodeSelectorTerm(List<NodeSelectorRequirement> matchExpressions, List<NodeSelectorRequirement> matchFields) {}
