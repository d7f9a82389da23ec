package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/**
 * The pacing of rollout passes ({@link Fleet#rolloutPass}) on a clock the test moves: the fleet's
 * tests run passes on a clock that stands still during them, so a pass's walk was 0 there and the
 * gap after it never tested.
 */
class RolloutPacingTest {
  private static final long MS = 1_000_000L;

  private final AtomicLong now = new AtomicLong(1_000 * MS);
  private final RolloutPacing pacing = new RolloutPacing(now::get, () -> 0);
  private final AtomicInteger passes = new AtomicInteger();

  /** A pass that walks for {@code walkMs} and sends for {@code sendingMs}, answering its sending. */
  private LongSupplier pass(long walkMs, long sendingMs) {
    return () -> {
      passes.incrementAndGet();
      now.addAndGet((walkMs + sendingMs) * MS);
      return sendingMs * MS;
    };
  }

  @Test
  void aPassRunsOnlyWhenAChangeAskedForOne() {
    pacing.passIfDue(pass(1, 0));
    assertThat(passes).as("nothing changed").hasValue(0);

    pacing.due();
    assertThat(pacing.waiting()).isTrue();
    pacing.passIfDue(pass(0, 0));
    assertThat(passes).hasValue(1);
    assertThat(pacing.waiting()).as("the pass saw the change").isFalse();

    pacing.passIfDue(pass(0, 0));
    assertThat(passes).as("no change since").hasValue(1);
  }

  @Test
  void theNextPassWaitsFourTimesTheLastOnesWalkWithoutItsSending() {
    pacing.due();
    pacing.passIfDue(pass(10, 20)); // 30 ms, of which 20 sending: a walk of 10 ms

    pacing.due();
    now.addAndGet(39 * MS);
    pacing.passIfDue(pass(0, 0));
    assertThat(passes).as("39 ms after a 10 ms walk").hasValue(1);
    assertThat(pacing.waiting()).as("the change still waits").isTrue();

    now.addAndGet(MS);
    pacing.passIfDue(pass(0, 0));
    assertThat(passes).as("40 ms after it: four times the walk, the sending not counted").hasValue(2);
  }

  @Test
  void aLongWalkHoldsTheNextPassBackASecondAtMost() {
    pacing.due();
    pacing.passIfDue(pass(2_000, 0)); // four times would be 8 s

    pacing.due();
    now.addAndGet(RolloutPacing.MAX_PASS_GAP_NANOS - MS);
    pacing.passIfDue(pass(0, 0));
    assertThat(passes).hasValue(1);

    now.addAndGet(MS);
    pacing.passIfDue(pass(0, 0));
    assertThat(passes).as("a second after the long pass").hasValue(2);
  }
}
