package io.dsfleet.common.model;

import java.util.List;

/** A Secret in a projected volume. */
public record SecretProjection(String name, List<KeyToPath> items, Boolean optional) {}
