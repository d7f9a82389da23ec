package io.dsfleet.coordinator.security;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The long-lived calls open under each certificate (sessions, log streams, rollout watches), to end
 * when the certificate is revoked. A registration and a revocation may race: a call checked before
 * its certificate was revoked registers after the revocation ended the calls it knew. Both sides
 * hold this class's own lock (never the CA's: a join holds that through a store commit, and
 * sessions open on transport threads) for their map work only, and a revocation is recorded before
 * its calls are ended, so whichever comes second ends the call: the registration sees the
 * certificate revoked, or the revocation finds the call. Calls end outside the lock.
 */
final class OpenStreams {
  private final Map<String, Set<Runnable>> bySerial = new HashMap<>();
  private final Predicate<String> revoked;

  /** @param revoked whether a serial is revoked: recorded before {@link #end} is called for it */
  OpenStreams(Predicate<String> revoked) {
    this.revoked = revoked;
  }

  /**
   * Registers {@code cancel} (idempotent) under the serial; runs it now when the serial is revoked
   * already. Returns what unregisters it.
   */
  Runnable register(String serial, Runnable cancel) {
    boolean late;
    synchronized (this) {
      late = revoked.test(serial);
      if (!late) {
        bySerial.computeIfAbsent(serial, k -> new LinkedHashSet<>()).add(cancel);
      }
    }
    if (late) {
      cancel.run();
      return () -> { };
    }
    return () -> {
      synchronized (this) {
        Set<Runnable> set = bySerial.get(serial);
        if (set != null && set.remove(cancel) && set.isEmpty()) {
          bySerial.remove(serial);
        }
      }
    };
  }

  /** Ends the calls open under these serials, each revoked before this call. */
  void end(List<String> serials) {
    for (String serial : serials) {
      Set<Runnable> calls;
      synchronized (this) {
        calls = bySerial.remove(serial);
      }
      if (calls != null) {
        calls.forEach(Runnable::run);
      }
    }
  }

  /** Calls registered now (a test's view). */
  synchronized int size() {
    return bySerial.values().stream().mapToInt(Set::size).sum();
  }
}
