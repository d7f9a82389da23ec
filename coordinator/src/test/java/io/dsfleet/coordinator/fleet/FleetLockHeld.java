package io.dsfleet.coordinator.fleet;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The fleet's lock held by another thread until closed (at most 20 s): what a call must not wait
 * for is shown not to, while the lock is busy with something long (a large apply, a slow disk).
 */
public final class FleetLockHeld implements AutoCloseable {
  private final CountDownLatch release = new CountDownLatch(1);
  private final CompletableFuture<Void> holder;

  private FleetLockHeld(Fleet fleet) throws InterruptedException {
    CountDownLatch held = new CountDownLatch(1);
    holder = CompletableFuture.runAsync(() -> fleet.batch(() -> {
      held.countDown();
      try {
        release.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    if (!held.await(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the fleet's lock was not taken within 10 s");
    }
  }

  /** Returns once another thread holds {@code fleet}'s lock. */
  public static FleetLockHeld by(Fleet fleet) throws InterruptedException {
    return new FleetLockHeld(fleet);
  }

  @Override
  public void close() throws Exception {
    release.countDown();
    holder.get(20, TimeUnit.SECONDS);
  }
}
