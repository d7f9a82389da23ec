package io.dsfleet.common.model;

import java.util.List;

/** Linux capabilities to add and drop. */
public record Capabilities(List<String> add, List<String> drop) {}
