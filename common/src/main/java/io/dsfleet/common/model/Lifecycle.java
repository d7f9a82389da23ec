package io.dsfleet.common.model;

/** Container lifecycle hooks (exec only). */
public record Lifecycle(LifecycleHandler postStart, LifecycleHandler preStop) {}
