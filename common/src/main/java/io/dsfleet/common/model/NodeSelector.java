package io.dsfleet.common.model;

import java.util.List;

/** Node selector terms, ORed. */
public record NodeSelector(List<NodeSelectorTerm> nodeSelectorTerms) {}
