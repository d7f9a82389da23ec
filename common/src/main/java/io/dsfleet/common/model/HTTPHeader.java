package io.dsfleet.common.model;

/** An HTTP header of a probe. */
public record HTTPHeader(String name, String value) {}
