package io.dsfleet.common.model;

/** apps/v1 DaemonSet (spec only; status is computed by the coordinator). */
public record DaemonSet(String apiVersion, String kind, ObjectMeta metadata, DaemonSetSpec spec)
    implements KubeObject {}
