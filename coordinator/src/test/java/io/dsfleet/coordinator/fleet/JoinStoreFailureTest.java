package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.dsfleet.common.Sha256;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A join whose node record the store refuses after its token's use was counted (a disk full for
 * the larger write only): the use is given back, so the agent's retry is not refused as a second
 * use of a single-use token (helper-75, helper-78: it was locked out for good).
 */
class JoinStoreFailureTest {
  @TempDir Path dir;

  @Test
  void aJoinWhoseNodeWriteIsRefusedGivesItsTokensUseBack() {
    try (FleetHarness h = new FleetHarness(dir.resolve("fleet")); SqliteStore caStore = new SqliteStore(dir.resolve("ca"))) {
      Authority ca = Authority.open(dir.resolve("ca"), List.of("127.0.0.1"), caStore, h.clock, Duration.ofDays(30));
      String once = ca.createToken(Duration.ofHours(1), "once", "", 1).text();
      String secret = "0123456789abcdef0123456789abcdef";
      Fleet.Credential<Authority.Admission> issue =
          (member, retryOf) -> ca.admit(once, "node-d", Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), member, retryOf);
      h.failing = (m, a) -> m.equals("putNode");
      Throwable refused = catchThrowable(() -> h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(secret), secret, issue,
          Authority.Admission::tokenId, ca::giveBack));
      assertThat(refused).isInstanceOf(ControlException.class).hasMessageContaining("store refused");
      h.failing = (m, a) -> false;
      Authority.Admission retried = h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(secret), secret, issue,
          Authority.Admission::tokenId, ca::giveBack);
      assertThat(retried.certificate().getSubjectX500Principal().getName()).contains("node-d");
      Throwable another = catchThrowable(() -> ca.admit(once, "node-e", Pki.csr(Pki.newKeyPair(), "node-e", Pki.NODES), false, ""));
      assertThat(another).as("the token's one use is the retry's").hasMessageContaining("used up (1 of 1 joins)");
    }
  }

  /**
   * A node write whose outcome is unknown (a replicated group that did not confirm it) may have
   * registered the node: its use is kept, or a single-use token would admit a second node
   * (helper-79).
   */
  @Test
  void aNodeWriteThatMayHaveBeenAppliedKeepsItsTokensUse() {
    try (FleetHarness h = new FleetHarness(dir.resolve("fleet")); SqliteStore caStore = new SqliteStore(dir.resolve("ca"))) {
      Authority ca = Authority.open(dir.resolve("ca"), List.of("127.0.0.1"), caStore, h.clock, Duration.ofDays(30));
      String once = ca.createToken(Duration.ofHours(1), "once", "", 1).text();
      String secret = "0123456789abcdef0123456789abcdef";
      h.failing = (m, a) -> m.equals("putNode");
      h.failingMayHaveApplied = true;
      Throwable unknown = catchThrowable(() -> h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(secret), secret,
          (member, retryOf) -> ca.admit(once, "node-d", Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), member, retryOf),
          Authority.Admission::tokenId, ca::giveBack));
      assertThat(unknown).hasMessageContaining("may have been applied");
      h.failing = (m, a) -> false;
      Throwable another = catchThrowable(() -> ca.admit(once, "node-e", Pki.csr(Pki.newKeyPair(), "node-e", Pki.NODES), false, ""));
      assertThat(another).hasMessageContaining("used up (1 of 1 joins)");
    }
  }
}
