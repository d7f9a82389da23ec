package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Reconciler;
import org.junit.jupiter.api.Test;

/** `ds-agent leave`'s last line: it said every container was removed while a held pod's ran on (helper-154). */
class LeaveSummaryTest {
  @Test
  void theLastLineNamesWhatWasLeftRunning() {
    assertThat(AgentMain.leaveSummary("n1", new Reconciler.Removal(2, 0))).isEqualTo("removed every container owned by node n1");
    assertThat(AgentMain.leaveSummary("n1", new Reconciler.Removal(0, 0))).isEqualTo("no pods of node n1 were running here");
    assertThat(AgentMain.leaveSummary("n1", new Reconciler.Removal(2, 1))).isEqualTo("removed 2 pod(s) of node n1; 1 left running, as said above");
    assertThat(AgentMain.leaveSummary("n1", new Reconciler.Removal(0, 1))).isEqualTo("removed no pod of node n1; 1 left running, as said above");
  }
}
