package io.dsfleet.common.model;

/** A TCP connect against the pod. */
public record TCPSocketAction(IntOrString port, String host) {}
