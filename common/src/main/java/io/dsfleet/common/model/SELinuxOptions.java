package io.dsfleet.common.model;

/** SELinux label of the container. */
public record SELinuxOptions(String user, String role, String type, String level) {}
