package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.dsfleet.common.Sha256;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.ListedToken;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A join whose node record the store refuses after its token's use was counted: the use is given
 * back, so the agent's retry is not refused as a second use of a single-use token (helper-75,
 * helper-78: it was locked out for good); but only when nothing was written (helper-79: a
 * single-use token admitted two nodes). The use is written with the node, in one transaction.
 */
class JoinStoreFailureTest {
  static final String SECRET = "0123456789abcdef0123456789abcdef";
  @TempDir Path dir;
  FleetHarness h;
  Authority ca;
  String once;

  @BeforeEach
  void start() {
    h = new FleetHarness(dir.resolve("fleet"));
    ca = sharedAuthority();
    once = ca.createToken(Duration.ofHours(1), "once", "", 1).text();
  }

  @AfterEach
  void stop() {
    h.close();
  }

  /** The coordinator's authority: its tokens in the fleet's store, as in the coordinator. */
  Authority sharedAuthority() {
    return Authority.open(dir.resolve("pki"), List.of("127.0.0.1"), h.store, h.clock, Duration.ofDays(30));
  }

  Authority.Admission admitD() {
    return admitD(ca, once);
  }

  Authority.Admission admitD(Authority authority, String token) {
    return h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(SECRET), SECRET,
        (member, retryOf, ownSecret) -> authority.admit(authority.present(token, "node-d", Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), true), member, retryOf, ownSecret),
        Authority.Admission::tokenUse, authority::giveBack);
  }

  Throwable admitE() {
    return admitE(ca);
  }

  Throwable admitE(Authority authority) {
    return catchThrowable(() -> authority.admit(authority.present(once, "node-e", Pki.csr(Pki.newKeyPair(), "node-e", Pki.NODES), false), false, "", false));
  }

  @Test
  void aJoinWhoseNodeWriteIsRefusedGivesItsTokensUseBack() {
    h.failing = (m, a) -> m.equals("admitNode");
    assertThat(catchThrowable(this::admitD)).isInstanceOf(ControlException.class).hasMessageContaining("store refused");
    h.failing = (m, a) -> false;
    assertThat(admitD().certificate().getSubjectX500Principal().getName()).contains("node-d");
    assertThat(admitE()).as("the token's one use is the retry's").hasMessageContaining("used up (1 of 1 joins)");
  }

  /**
   * The disk fails at the read a new node's admission makes before its write (the pods the name
   * held when it was a member before): nothing was written, and the token's use was kept counted
   * in memory, so a single-use token refused its agent's retry until the coordinator restarted.
   */
  @Test
  void aJoinWhoseReadBeforeTheNodesWriteFailsGivesItsTokensUseBack() {
    h.failing = (m, a) -> m.equals("orphans");
    assertThat(catchThrowable(this::admitD)).as("the join on a disk that fails reads").isNotNull();
    h.failing = (m, a) -> false;
    assertThat(admitD().certificate().getSubjectX500Principal().getName()).as("the retry, with the single-use token")
        .contains("node-d");
  }

  /**
   * The coordinator's disk fails at the node's write of a join, and every write after it (the
   * coordinator dies there, or its store stays refused until it is restarted): the token's use
   * was counted on disk before the node was, and a single-use token was burned on a node never
   * registered; its agent could never join. Token and node share one store here, as in the
   * coordinator.
   */
  @Test
  void aCrashAtTheNodesWriteLeavesItsSingleUseTokenUnused() {
    boolean[] down = new boolean[1];
    h.failing = (m, a) -> down[0] |= m.equals("putNode") || m.equals("admitNode");
    assertThat(catchThrowable(this::admitD)).isInstanceOf(ControlException.class).hasMessageContaining("store refused");
    assertThat(down[0]).as("the join reached the node's write").isTrue();
    h.failing = (m, a) -> false;
    h.crashAndRestart();
    assertThat(admitD(sharedAuthority(), once).certificate().getSubjectX500Principal().getName()).contains("node-d");
    h.crashAndRestart();
    assertThat(admitE(sharedAuthority())).as("its one use stored with the node").hasMessageContaining("used up (1 of 1 joins)");
  }

  /** A revocation written while a join by the token was on its way stays revoked: the node's write raises the token's count only. */
  @Test
  void theNodesWriteDoesNotUndoARevocationMadeMeanwhile() {
    var created = ca.createToken(Duration.ofHours(1), "many", "", 0);
    h.fleet.admit(FakeAgent.info("node-d", Map.of()), Sha256.hex(SECRET), SECRET, (member, retryOf, ownSecret) -> {
      Authority.Admission a = ca.admit(ca.present(created.text(), "node-d", Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), true), member, retryOf, ownSecret);
      ca.revokeToken(created.id());
      return a;
    }, Authority.Admission::tokenUse, ca::giveBack);
    h.crashAndRestart();
    assertThat(sharedAuthority().tokens().stream().map(ListedToken::token)).filteredOn(t -> t.id().equals(created.id())).singleElement().satisfies(t -> {
      assertThat(t.revokedMillis()).as("still revoked").isPositive();
      assertThat(t.uses()).isEqualTo(1);
    });
  }

  /** A node write whose outcome is unknown (a replicated group that did not confirm it) may have registered the node: its use is kept. */
  @Test
  void aNodeWriteThatMayHaveBeenAppliedKeepsItsTokensUse() {
    h.failing = (m, a) -> m.equals("admitNode");
    h.failingMayHaveApplied = true;
    assertThat(catchThrowable(this::admitD)).hasMessageContaining("may have been applied");
    h.failing = (m, a) -> false;
    assertThat(admitE()).hasMessageContaining("used up (1 of 1 joins)");
  }
}
