package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretBoxTest {
  @TempDir Path tmp;

  @Test
  void aKeyIsMadeOnceAndReadAgainAfter() {
    Path key = tmp.resolve("pki/secrets.key");
    SecretBox made = SecretBox.loadOrCreate(key);
    String first = OwnerOnlyFiles.read(key);
    SecretBox again = SecretBox.loadOrCreate(key);
    assertThat(OwnerOnlyFiles.read(key)).isEqualTo(first);
    byte[] sealed = made.seal("value".getBytes(java.nio.charset.StandardCharsets.UTF_8), "ns/name");
    assertThat(new String(again.open(sealed, "ns/name"), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("value");
  }

  /**
   * A key file that is a link leading nowhere (its target on a volume not mounted yet, say) is
   * refused and left as it is, never replaced by a new key: everything sealed under the key it
   * leads to would be unreadable after. Before 2026-12-06 a key that did not answer as there (a
   * dangling link, a stat that failed) was taken for none, and a new one written in its place.
   */
  @Test
  void aKeyThatIsALinkLeadingNowhereIsRefusedNotReplaced() throws Exception {
    Path pki = OwnerOnlyFiles.directory(tmp.resolve("pki"));
    Path key = pki.resolve("secrets.key");
    Files.createSymbolicLink(key, tmp.resolve("not-mounted/secrets.key"));
    assertThatThrownBy(() -> SecretBox.loadOrCreate(key)).hasMessageContaining(key.toString());
    assertThat(Files.isSymbolicLink(key)).as("the link left as it was").isTrue();
    assertThat(Files.readSymbolicLink(key)).isEqualTo(tmp.resolve("not-mounted/secrets.key"));
  }
}
