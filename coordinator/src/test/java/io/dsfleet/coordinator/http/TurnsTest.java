package io.dsfleet.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One credential holds at most its share of the turns; the others are left for the rest, and a turn given back is free again. */
class TurnsTest {
  @Test
  void oneCallerHoldsOnlyItsShare() throws Exception {
    Turns turns = new Turns(4, 2);
    List<Turns.Turn> viewer = new ArrayList<>(List.of(turns.take("viewer"), turns.take("viewer")));
    assertThat(viewer).doesNotContainNull();
    assertThat(turns.take("viewer")).as("its share is used").isNull();
    Turns.Turn admin = turns.take("admin");
    assertThat(admin).as("another credential still gets one").isNotNull();
    viewer.get(0).close();
    assertThat(turns.take("viewer")).as("given back, free again").isNotNull();
    assertThat(turns.refusal("viewer")).contains("4 requests at once", "at most 2 of one credential (viewer)");
  }

  /** A wait cut short (the listener's thread interrupted as it stops) keeps none of the caller's share; a turn closed twice is given back once. */
  @Test
  void anInterruptedWaitKeepsNoShareAndATurnClosedTwiceIsGivenBackOnce() throws Exception {
    Turns turns = new Turns(1, 1, java.time.Duration.ofMillis(200));
    Turns.Turn held = turns.take("a");
    Thread.currentThread().interrupt();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> turns.take("b")).isInstanceOf(InterruptedException.class);
    assertThat(turns.held("b")).as("the interrupted wait's share given back").isZero();
    held.close();
    held.close();
    assertThat(turns.take("b")).as("b's share was left to it").isNotNull();
    assertThat(turns.take("c")).as("one turn in all: the second close made none").isNull();
  }

  @Test
  void whenAllAreTakenACallerIsRefusedAfterItsWaitAndKeepsNoShare() throws Exception {
    Turns turns = new Turns(2, 2, java.time.Duration.ofMillis(200));
    assertThat(turns.take("a")).isNotNull();
    assertThat(turns.take("b")).isNotNull();
    long t0 = System.nanoTime();
    assertThat(turns.take("c")).as("none came free").isNull();
    assertThat(System.nanoTime() - t0).as("it waited for one").isGreaterThanOrEqualTo(200_000_000L);
    assertThat(turns.take("a")).as("a's refused wait left it its share, and none is free").isNull();
  }
}
