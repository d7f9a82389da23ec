package io.dsfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dsctl's inputs are checked for size before anything is read or parsed. */
class ManifestSourcesTest {
  /** 4 MiB, the coordinator's default request limit, less 64 KiB for the rest of the request. */
  private static final int LIMIT = 4 * 1024 * 1024 - 64 * 1024;

  @TempDir Path dir;

  @Test
  void aFileOverTheLimitIsRefusedBeforeItIsRead() throws IOException {
    Path big = dir.resolve("big.yaml");
    try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
      f.setLength(50L * 1024 * 1024); // sparse: nothing to read if it is refused at once
    }
    assertThatThrownBy(() -> ManifestSources.read(big.toString(), InputStream.nullInputStream()))
        .isInstanceOf(UncheckedIOException.class)
        .cause().hasMessage(big + " is 52428800 bytes; manifests are limited to 4128768 bytes"
            + " (4 MiB, the coordinator's request limit, less 64 KiB for the rest of the request)");
  }

  @Test
  void aFileInADirectoryIsCheckedToo() throws IOException {
    Files.writeString(dir.resolve("a.yaml"), Fixtures.BASE);
    Files.write(dir.resolve("b.yaml"), new byte[LIMIT + 1]);
    assertThatThrownBy(() -> ManifestSources.read(dir.toString(), InputStream.nullInputStream()))
        .cause().hasMessageStartingWith(dir.resolve("b.yaml") + " is 4128769 bytes; manifests are limited to 4128768 bytes");
  }

  @Test
  void aFileAtTheLimitIsRead() throws IOException {
    byte[] text = new byte[LIMIT];
    Arrays.fill(text, (byte) '#');
    Files.write(dir.resolve("max.yaml"), text);
    assertThat(ManifestSources.read(dir.resolve("max.yaml").toString(), InputStream.nullInputStream()).get(0).text()).hasSize(LIMIT);
  }

  @Test
  void standardInputIsReadOnlyUpToTheLimit() {
    byte[] text = new byte[LIMIT + 1024 * 1024];
    Arrays.fill(text, (byte) 'x');
    long[] read = {0};
    InputStream stdin = new FilterInputStream(new ByteArrayInputStream(text)) {
      @Override
      public int read() throws IOException {
        int b = super.read();
        read[0] += b < 0 ? 0 : 1;
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        read[0] += Math.max(n, 0);
        return n;
      }
    };
    assertThatThrownBy(() -> ManifestSources.read("-", stdin))
        .cause().hasMessage("standard input has more than 4128768 bytes; manifests are limited to 4128768 bytes"
            + " (4 MiB, the coordinator's request limit, less 64 KiB for the rest of the request)");
    assertThat(read[0]).isLessThanOrEqualTo(LIMIT + 1);
  }

  /**
   * Bytes that are no UTF-8 (a Latin-1 "café" piped in) are refused on standard input as in a file.
   * Until 2026-12-08 standard input alone was decoded leniently: each such byte became U+FFFD, and
   * `dsctl apply -f - < latin1.yaml` stored a ConfigMap whose value was not the file's, exit 0.
   */
  @Test
  void standardInputThatIsNoUtf8IsRefusedAsAFileIs() throws IOException {
    byte[] text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: caf\u00e9}\n"
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    Files.write(dir.resolve("latin1.yaml"), text);
    assertThatThrownBy(() -> ManifestSources.read(dir.resolve("latin1.yaml").toString(), InputStream.nullInputStream()))
        .cause().hasMessage(dir.resolve("latin1.yaml") + " is not UTF-8 text");
    assertThatThrownBy(() -> ManifestSources.read("-", new ByteArrayInputStream(text)))
        .isInstanceOf(UncheckedIOException.class).cause().hasMessage("standard input is not UTF-8 text");
  }

  @Test
  void standardInputAtTheLimitIsRead() {
    byte[] text = new byte[LIMIT];
    Arrays.fill(text, (byte) '#');
    assertThat(ManifestSources.read("-", new ByteArrayInputStream(text)).get(0).text()).hasSize(LIMIT);
  }
}
