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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A join whose node record the store refuses after its token's use was counted (a disk full for
 * the larger write only): the use is given back, so the agent's retry is not refused as a second
 * use of a single-use token (helper-75, helper-78: it was locked out for good); but only when
 * nothing was written (helper-79: a single-use token admitted two nodes).
 */
class JoinStoreFailureTest {
  static final String SECRET = "0123456789abcdef0123456789abcdef";
  @TempDir Path dir;
  FleetHarness h;
  SqliteStore caStore;
  Authority ca;
  String once;

  @BeforeEach
  void start() {
    h = new FleetHarness(dir.resolve("fleet"));
    caStore = new SqliteStore(dir.resolve("ca"));
    ca = Authority.open(dir.resolve("ca"), List.of("127.0.0.1"), caStore, h.clock, Duration.ofDays(30));
    once = ca.createToken(Duration.ofHours(1), "once", "", 1).text();
  }

  @AfterEach
  void stop() {
    caStore.close();
    h.close();
  }

  Authority.Admission admitD() {
    return h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(SECRET), SECRET,
        (member, retryOf) -> ca.admit(once, "node-d", Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), member, retryOf),
        Authority.Admission::tokenId, ca::giveBack);
  }

  Throwable admitE() {
    return catchThrowable(() -> ca.admit(once, "node-e", Pki.csr(Pki.newKeyPair(), "node-e", Pki.NODES), false, ""));
  }

  @Test
  void aJoinWhoseNodeWriteIsRefusedGivesItsTokensUseBack() {
    h.failing = (m, a) -> m.equals("putNode");
    assertThat(catchThrowable(this::admitD)).isInstanceOf(ControlException.class).hasMessageContaining("store refused");
    h.failing = (m, a) -> false;
    assertThat(admitD().certificate().getSubjectX500Principal().getName()).contains("node-d");
    assertThat(admitE()).as("the token's one use is the retry's").hasMessageContaining("used up (1 of 1 joins)");
  }

  /** A node write whose outcome is unknown (a replicated group that did not confirm it) may have registered the node: its use is kept. */
  @Test
  void aNodeWriteThatMayHaveBeenAppliedKeepsItsTokensUse() {
    h.failing = (m, a) -> m.equals("putNode");
    h.failingMayHaveApplied = true;
    assertThat(catchThrowable(this::admitD)).hasMessageContaining("may have been applied");
    h.failing = (m, a) -> false;
    assertThat(admitE()).hasMessageContaining("used up (1 of 1 joins)");
  }
}
