package io.dsfleet.common.model;

/** A pod field (metadata.name, spec.nodeName, status.hostIP, ...). */
public record ObjectFieldSelector(String apiVersion, String fieldPath) {}
