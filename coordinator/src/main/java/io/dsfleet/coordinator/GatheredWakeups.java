package io.dsfleet.coordinator;

import io.grpc.netty.shaded.io.netty.channel.SelectStrategy;
import io.grpc.netty.shaded.io.netty.channel.SelectStrategyFactory;
import io.grpc.netty.shaded.io.netty.util.IntSupplier;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * How a transport thread waits for its sockets when it is busy: it lets messages gather for a
 * moment before it looks, instead of waking for each one.
 *
 * <p>At 10,000 agents, 2,000 heartbeats a second reach the coordinator, spread over time; a
 * transport thread that waits in {@code epoll_wait} wakes for almost every one, and the wake-up
 * (a system call and two context switches) costs more than reading the heartbeat
 * (docs/benchmarks.md). A thread that woke more than {@code busyWakeups} times in its last second
 * is busy: when no socket is ready and no task is queued, it sleeps {@code gather} before it
 * waits, so that the next wake-up finds several messages. A message, or a task another thread
 * hands it, that arrives during the sleep waits for its end (Netty does not wake a thread that is
 * not in {@code epoll_wait}; after the sleep it looks at its tasks before it waits); a thread with
 * work ready never sleeps. It stays busy while it wakes more than half the lower of
 * {@code busyWakeups} and the rate a sleep allows and while its sleeps find two sockets ready on
 * average (one client asking and waiting for each answer gains nothing from a sleep: such a spell
 * ends after a second and is not tried again for 2 to 64 s); a thread that wakes less often
 * waits as Netty does. The network card's interrupt moderation does the same one layer down.
 */
final class GatheredWakeups implements SelectStrategy {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();

  private final long gatherNanos;
  private final int busyWakeups;
  private final LongSupplier clock;
  private final LongConsumer sleep;
  // one strategy per event loop, used only on its thread
  private long windowStart;
  private int wakeups;
  private boolean busy;
  /** Sleeps in this window, and the sockets found ready after them. */
  private int sleeps;
  private long gathered;
  /** Busy spells that gathered too little in a row, and when the next may begin. */
  private int fruitless;
  private long retryAt;

  /** @param clock nanoseconds, monotonic; @param sleep sleeps the nanoseconds it is given */
  GatheredWakeups(Duration gather, int busyWakeups, LongSupplier clock, LongConsumer sleep) {
    this.gatherNanos = gather.toNanos();
    this.busyWakeups = busyWakeups;
    this.clock = clock;
    this.sleep = sleep;
    this.windowStart = clock.getAsLong();
  }

  /** One strategy per event loop, each counting its own wake-ups. */
  static SelectStrategyFactory factory(Duration gather, int busyWakeups) {
    if (gather.compareTo(Duration.ofMillis(1)) < 0 || gather.compareTo(Duration.ofMillis(100)) > 0 || busyWakeups < 2) {
      throw new IllegalArgumentException("a gather of 1 to 100 ms and at least 2 wake-ups a second (got " + gather.toMillis()
          + " ms, " + busyWakeups + ")");
    }
    return () -> new GatheredWakeups(gather, busyWakeups, System::nanoTime, LockSupport::parkNanos);
  }

  @Override
  public int calculateStrategy(IntSupplier readyNow, boolean hasTasks) throws Exception {
    if (hasTasks) {
      return readyNow.get(); // Netty's own choice: look without waiting, then run the tasks
    }
    long now = clock.getAsLong();
    long window = now - windowStart;
    if (window >= SECOND) {
      // wake-ups a second since the count began (a thread that waited long counts a long window);
      // a busy loop wakes at most once a gather: it stays busy while it wakes at half the lower
      // of that and the rate that made it busy, and while its sleeps find two sockets ready on
      // average: one client asking and waiting for each answer makes a thread wake often, but
      // a sleep only delays it. Such a spell is not tried again for 2, 4 ... 64 s.
      long rate = wakeups * SECOND / window;
      if (busy) {
        boolean gathering = sleeps == 0 || gathered >= 2L * sleeps;
        busy = gathering && rate > Math.min(SECOND / gatherNanos, busyWakeups) / 2;
        if (!gathering) {
          fruitless = Math.min(fruitless + 1, 6);
          retryAt = now + (SECOND << fruitless);
        } else if (sleeps > 0) {
          fruitless = 0;
        }
      } else {
        busy = rate > busyWakeups && now - retryAt >= 0;
      }
      wakeups = 0;
      sleeps = 0;
      gathered = 0;
      windowStart = now;
    }
    wakeups++;
    if (!busy) {
      return SELECT;
    }
    int ready = readyNow.get();
    if (ready > 0) {
      return ready;
    }
    sleep.accept(gatherNanos);
    ready = readyNow.get(); // what the sleep gathered; none: wait as Netty does
    sleeps++;
    gathered += ready;
    return ready > 0 ? ready : SELECT;
  }

  /** Whether the last second counted made this loop busy (for tests). */
  boolean busy() {
    return busy;
  }
}
