package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nodes' conditions read without the fleet's lock (the metrics' node series) show a cordon
 * once the store has it: a cordon is made in memory before its write, under the lock, and undone
 * when the store refuses it, so a read without the lock saw a cordon the fleet never took (for as
 * long as the write took: up to a replicated group's 10 s), and one refused.
 */
class NodeConditionsWithoutLockTest {
  @TempDir Path dir;

  private static boolean cordoned(FleetHarness h, String node) {
    return h.fleet.nodeConditions().stream().filter(c -> c.name().equals(node)).findFirst().orElseThrow().unschedulable();
  }

  @Test
  void aCordonIsReadWithoutTheLockOnceTheStoreHasIt() throws Exception {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("a");
      CountDownLatch writing = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      h.failing = (method, args) -> {
        if (!method.equals("putNode")) {
          return false;
        }
        writing.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return true; // refused, as a full disk or a group without a majority
      };
      CompletableFuture<Void> cordon = CompletableFuture.runAsync(() -> h.fleet.cordon("a", true));
      try {
        assertThat(writing.await(10, TimeUnit.SECONDS)).as("the cordon's write began").isTrue();
        assertThat(cordoned(h, "a")).as("while the store writes the cordon, the lock held").isFalse();
      } finally {
        release.countDown();
      }
      assertThatThrownBy(cordon::join).hasCauseInstanceOf(ControlException.class);
      assertThat(cordoned(h, "a")).as("the cordon refused").isFalse();

      h.failing = (method, args) -> false;
      h.fleet.cordon("a", true);
      assertThat(cordoned(h, "a")).as("written").isTrue();
      h.fleet.cordon("a", false);
      assertThat(cordoned(h, "a")).as("uncordoned").isFalse();
      h.fleet.cordon("a", true);
      h.crashAndRestart();
      assertThat(cordoned(h, "a")).as("as loaded after a restart").isTrue();
    }
  }
}
