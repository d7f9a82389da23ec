package io.dsfleet.common.model;

/** A container port, optionally published on the host. */
public record ContainerPort(String name, Integer containerPort, Integer hostPort, String protocol, String hostIP) {}
