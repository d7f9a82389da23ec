package io.dsfleet.common.model;

import java.util.List;

/** A command run inside the container. */
public record ExecAction(List<String> command) {}
