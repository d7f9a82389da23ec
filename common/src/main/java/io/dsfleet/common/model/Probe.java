package io.dsfleet.common.model;

/** A liveness, readiness or startup probe. */
public record Probe(ExecAction exec, HTTPGetAction httpGet, TCPSocketAction tcpSocket, Integer initialDelaySeconds, Integer timeoutSeconds, Integer periodSeconds, Integer successThreshold, Integer failureThreshold) {}
