package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.cli.DsctlRun.Result;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dsctl token list}'s STATE where dsctl's clock and the coordinator's disagree. */
class TokenStateCliTest {
  @TempDir Path dir;

  /**
   * A token's state is the coordinator's, which decides whether it admits a node: before
   * helper-163 dsctl judged the expiry on its own host's clock, and a token the coordinator no
   * longer took (its clock ahead of the operator's, or stepped back after the token's time to live
   * ran out on its monotonic clock) was listed valid, or one it still took (dsctl's clock ahead)
   * listed expired: an operator left a leaked token unrevoked, reading it expired.
   */
  @Test
  void theStateListedIsTheCoordinatorsNotDsctlsClocks() throws Exception {
    FakeClock clock = new FakeClock(Instant.now());
    try (CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), clock, clock::nanos,
        false).start()) {
      String admin = dir.resolve("data/pki/admin.pem").toString();
      List<String> at = List.of("--coordinator", "127.0.0.1:" + server.port(), "--credentials", admin);
      Result created = DsctlRun.run(concat(List.of("token", "create", "--ttl", "1h"), at));
      assertThat(created.exit()).as(created.err()).isZero();
      JoinToken token = JoinToken.parse(created.out().strip());
      assertThat(DsctlRun.run(concat(List.of("token", "list"), at)).out()).containsPattern(token.id() + " +valid ");

      clock.advance(Duration.ofHours(2)); // the coordinator's clock: two hours on, dsctl's not

      assertThat(DsctlRun.run(concat(List.of("token", "list"), at)).out()).containsPattern(token.id() + " +expired ");
    }
  }

  static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new java.util.ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
