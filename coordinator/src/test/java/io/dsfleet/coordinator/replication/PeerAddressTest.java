package io.dsfleet.coordinator.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * A peer's addresses, which a joining replica gives itself and `dsctl replica list` prints: one
 * holding a control character (a terminal's escape) or a space is refused, named without it.
 */
class PeerAddressTest {
  @Test
  void anAddressHoldingAControlCharacterOrASpaceIsRefused() {
    assertThatThrownBy(() -> ReplicationOptions.Peer.parse("c3,10.0.0.3\u001b[2J:7444,10.0.0.3:7443"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("peer \"c3,10.0.0.3?[2J:7444,10.0.0.3:7443\" holds a space or control character");
    assertThatThrownBy(() -> ReplicationOptions.Peer.parse("c3,10.0.0.3:7444,evil\nhost:7443"))
        .hasMessageContaining("control character").hasMessageNotContaining("\n");
    assertThatThrownBy(() -> ReplicationOptions.Peer.parse("c3,10.0.0.3:7444,a host:7443")).hasMessageContaining("space");
  }

  @Test
  void namesAndAddressesAsWrittenAreRead() {
    var p = ReplicationOptions.Peer.parse("c3, ds-3.example.com:7444 ,[::1]:7443");
    assertThat(p.peerAddress()).isEqualTo("ds-3.example.com:7444");
    assertThat(p.coordinatorAddress()).isEqualTo("[::1]:7443");
  }
}
