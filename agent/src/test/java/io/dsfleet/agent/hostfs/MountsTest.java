package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the agent reads of the host's mount table, from a table written here. */
class MountsTest {
  @TempDir Path tmp;

  /**
   * A table in the kernel's form as a container can make the host's: the agent bound a subPath
   * ({@code a/b}) of its volume, and the container renamed {@code a} to a name that is no UTF-8
   * (byte 0xE9): the bind's line shows its source's path as it is (the kernel escapes only space,
   * tab, newline and backslash). The table is still read, escapes undone. Before, it was read as
   * UTF-8 and failed whole: no pod's secret or memory emptyDir could be mounted, no subPath
   * pinned, no pod's directory removed, on that node.
   */
  static byte[] tableWithANameThatIsNoUtf8() {
    ByteArrayOutputStream t = new ByteArrayOutputStream();
    t.writeBytes("26 1 8:1 / / rw - ext4 /dev/sda1 rw\n".getBytes(StandardCharsets.US_ASCII));
    t.writeBytes("40 26 8:1 /var/lib/ds-agent/pods/ns_p/volumes/v/".getBytes(StandardCharsets.US_ASCII));
    t.write(0xE9);
    t.writeBytes("/b /var/lib/ds-agent/pods/ns_p/volume-subpaths/v/c/0 rw - ext4 /dev/sda1 rw\n".getBytes(StandardCharsets.US_ASCII));
    t.writeBytes("41 26 0:50 / /var/lib/ds-agent/pods/ns_p/volumes/my\\040secret rw - tmpfs dsfleet-tmpfs rw\n".getBytes(StandardCharsets.US_ASCII));
    return t.toByteArray();
  }

  @Test
  void aTableWithANameThatIsNoUtf8IsStillRead() throws Exception {
    Path table = Files.write(tmp.resolve("mountinfo"), tableWithANameThatIsNoUtf8());
    Mounts mounts = new Mounts(table);
    assertThat(mounts.under(Path.of("/var/lib/ds-agent/pods/ns_p"))).containsExactlyInAnyOrder(
        Path.of("/var/lib/ds-agent/pods/ns_p/volume-subpaths/v/c/0"), Path.of("/var/lib/ds-agent/pods/ns_p/volumes/my secret"));
    assertThat(mounts.isMountPoint(Path.of("/var/lib/ds-agent/pods/ns_p/volumes/my secret"))).isTrue();
  }
}
