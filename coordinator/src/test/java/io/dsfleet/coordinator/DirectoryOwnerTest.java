package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryOwnerTest {
  @TempDir Path dir;

  /**
   * A write that fails (a full disk; here a directory in the way of its rename) leaves no part of
   * the content beside the entry: before 2026-12-06 root's partial ca.key.tmp stayed in the
   * service's pki/ (helper-119).
   */
  @Test
  void aWriteThatFailsLeavesNoTemporaryFile() throws Exception {
    Files.writeString(Files.createDirectories(dir.resolve("ca.key")).resolve("x"), "in the way");
    try (DirectoryOwner owner = DirectoryOwner.open(dir)) {
      assertThatThrownBy(() -> owner.write("ca.key", "key".getBytes())).isInstanceOf(java.io.IOException.class);
      owner.write("ca.crt", "crt".getBytes());
    }
    assertThat(dir.resolve("ca.key.tmp")).doesNotExist();
    assertThat(dir.resolve("ca.crt")).hasContent("crt");
    assertThat(dir.resolve("ca.crt.tmp")).doesNotExist();
  }
}
