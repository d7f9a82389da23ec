package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * examples/monitoring/alerts.yml's rules against their unit tests (alerts-test.yml, Prometheus'
 * own `promtool test rules`): each rule fires where a fleet is in trouble and not where it is
 * held or healthy. OperatorViewTest loads the same rules into a real Prometheus over real daemons.
 */
class AlertRulesTest {
  @Test
  void theExampleRulesPassTheirUnitTests() {
    assumeTrue(Procs.run(List.of("sh", "-c", "command -v promtool")).exit() == 0,
        "skipped: Debian's prometheus package is not installed (scripts/test installs it: scripts/ensure-test-tools.sh)");
    Procs.Result r = Procs.run(List.of("promtool", "test", "rules", OperatorViewTest.EXAMPLES.resolve("alerts-test.yml").toString()));
    assertThat(r.exit()).as(r.out()).isZero();
  }
}
