package io.dsfleet.common.model;

/** apps/v1 DaemonSetSpec. */
public record DaemonSetSpec(LabelSelector selector, PodTemplateSpec template, DaemonSetUpdateStrategy updateStrategy, Integer minReadySeconds, Integer revisionHistoryLimit) {}
