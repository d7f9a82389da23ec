package io.dsfleet.coordinator.fleet;

import io.dsfleet.proto.v1.CoordinatorMessage;

/** Where the coordinator sends a connected agent's messages (its session stream). */
public interface AgentSink {
  /** Sends one message; must not block for long. */
  void send(CoordinatorMessage message);

  /** Ends the session from the coordinator's side. */
  void close();
}
