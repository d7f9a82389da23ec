package io.dsfleet.coordinator.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.dsfleet.proto.v1.PodStatus;
import org.junit.jupiter.api.Test;

/** What a reported pod's template hash and digest may be ({@link PodIntake#accepted}), checked by loops since stop 72. */
class ReportedPodCheckTest {
  private static final String DIGEST = "0123456789abcdef".repeat(4);

  private static PodStatus pod(String hash, String digest) {
    return PodStatus.newBuilder().setNamespace("default").setDaemonSet("agent").setPodName("agent-x1y2z").setTemplateHash(hash)
        .setTemplateDigest(digest).setPhase("Running").build();
  }

  @Test
  void aPodOfDsfleetsNamesAndHashesIsKeptAsItCame() {
    PodStatus p = pod("5d8f9c7b6a", DIGEST);
    assertSame(p, PodIntake.accepted(p));
    PodStatus none = pod("", "");
    assertSame(none, PodIntake.accepted(none));
    PodStatus longest = pod("z9".repeat(32), DIGEST);
    assertSame(longest, PodIntake.accepted(longest));
  }

  @Test
  void aHashNotOfDigitsAndLowercaseLettersOrOver64DropsThePod() {
    for (String hash : new String[] {"5D8F9C7B6A", "5d8f-9c7b", "5d8f 9c7b", "5d8f9c7b6a\n", "é", "a".repeat(65)}) {
      assertNull(PodIntake.accepted(pod(hash, DIGEST)), hash);
    }
  }

  @Test
  void aDigestNotOf64HexDigitsIsKeptAsNone() {
    for (String digest : new String[] {DIGEST.substring(1), DIGEST + "0", DIGEST.replace('a', 'g'), DIGEST.toUpperCase(), "x"}) {
      PodStatus kept = PodIntake.accepted(pod("5d8f9c7b6a", digest));
      assertEquals("", kept.getTemplateDigest(), digest);
      assertEquals("5d8f9c7b6a", kept.getTemplateHash());
    }
  }
}
