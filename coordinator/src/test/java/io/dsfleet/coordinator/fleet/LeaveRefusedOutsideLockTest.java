package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.common.Sha256;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Leave with a wrong secret is refused without the fleet's lock and moves nothing: a copy of a
 * node's certificate calling it in a loop (the secret up to a message's 4 MiB) took the lock at
 * each call, hashed the secret under it, and moved the fleet's version, which rebuilds the view of
 * every watcher.
 */
class LeaveRefusedOutsideLockTest {
  @TempDir Path dir;

  @Test
  void aLeaveWithAWrongSecretIsRefusedWhileTheFleetsLockIsHeld() throws Exception {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.join(FakeAgent.info("n1", Map.of()), Sha256.hex("the agent's secret"), true);
      long version = h.fleet.viewVersion();
      try (FleetLockHeld held = FleetLockHeld.by(h.fleet)) {
        CompletableFuture<ControlException> leave = CompletableFuture.supplyAsync(() ->
            catchThrowableOfType(ControlException.class, () -> h.fleet.leave("n1", "guessed", () -> { })));
        ControlException refused = leave.get(5, TimeUnit.SECONDS); // a TimeoutException here: the refusal waited for the lock
        assertThat(refused.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(refused.getMessage()).contains("leave secret");
      }
      assertThat(h.fleet.viewVersion()).as("nothing changed: no view rebuilt, no watcher woken").isEqualTo(version);
      assertThat(h.fleet.events(Events.nodeKey("n1")).stream().map(Events.Event::reason)).contains("LeaveRefused");
      h.fleet.leave("n1", "the agent's secret", () -> { });
      assertThat(h.fleet.nodes()).as("the agent itself leaves").isEmpty();
    }
  }
}
