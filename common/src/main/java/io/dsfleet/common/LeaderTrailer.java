package io.dsfleet.common;

import io.grpc.Metadata;

/**
 * The trailer a coordinator replica that does not lead ends a call with: the leader's coordinator
 * address, empty while there is none (an election). Agents, dsctl and `ds-coordinator join` follow it.
 */
public final class LeaderTrailer {
  public static final Metadata.Key<String> KEY = Metadata.Key.of("dsfleet-leader", Metadata.ASCII_STRING_MARSHALLER);

  private LeaderTrailer() {}
}
