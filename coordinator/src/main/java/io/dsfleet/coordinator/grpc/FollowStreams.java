package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.security.Caller;
import io.grpc.Status;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How many of the control service's streams (`dsctl rollout status`, `events`, `logs`) one
 * credential holds open at once: at most {@link #PER_CREDENTIAL}. Each rollout or events stream is
 * looked at on the coordinator's scheduler thread, which also runs the lease sweep and the rollout
 * passes, every second or half second for as long as it is open; before 2026-12-05 one viewer could
 * open them by the thousand (64 a connection) and hold those up (helper-89). A credential is its role
 * and name, as the Kubernetes API's and the dashboard's shares count it; on an `--insecure`
 * coordinator every caller is one.
 */
final class FollowStreams {
  /** Streams one credential may hold open at once (the Kubernetes API allows 6 watches; dsctl users share credentials more). */
  static final int PER_CREDENTIAL = 32;

  private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();

  /** The current call's credential, its role and name ("admin/NAME", "viewer/NAME"). */
  static String credential() {
    Caller c = Caller.current();
    return c.kind().name().toLowerCase(java.util.Locale.ROOT) + "/" + c.name();
  }

  /**
   * Counts a stream of the current call's credential, given back when the call ends, however it
   * ends (its context is cancelled then).
   * @throws ControlException RESOURCE_EXHAUSTED when the credential holds its share already
   */
  void take() {
    String credential = credential();
    boolean[] taken = new boolean[1];
    open.compute(credential, (k, n) -> {
      int held = n == null ? 0 : n;
      taken[0] = held < PER_CREDENTIAL;
      return taken[0] ? held + 1 : n;
    });
    if (!taken[0]) {
      throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, "at most " + PER_CREDENTIAL + " rollout status, events and logs"
          + " streams of one credential (" + credential + ") are open at once; end some (each -w or -f holds one)");
    }
    io.grpc.Context.current().addListener(ended -> open.computeIfPresent(credential, (k, n) -> n > 1 ? n - 1 : null), Runnable::run);
  }
}
