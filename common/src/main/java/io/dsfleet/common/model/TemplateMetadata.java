package io.dsfleet.common.model;

import java.util.Map;

/** Pod template metadata: the labels the selector matches and the annotations carried to the pod. */
public record TemplateMetadata(Map<String, String> labels, Map<String, String> annotations) {}
