package io.dsfleet.common.model;

/** A reference to an object in the same namespace. */
public record LocalObjectReference(String name) {}
