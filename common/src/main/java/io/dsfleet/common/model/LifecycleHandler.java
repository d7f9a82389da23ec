package io.dsfleet.common.model;

/** A lifecycle hook: a command run inside the container. */
public record LifecycleHandler(ExecAction exec) {}
