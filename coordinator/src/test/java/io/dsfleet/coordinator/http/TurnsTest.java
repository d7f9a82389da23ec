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
