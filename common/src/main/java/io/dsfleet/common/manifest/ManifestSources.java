package io.dsfleet.common.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Reads `-f FILE|DIR|-` the way kubectl does: a directory means its *.yaml, *.yml and *.json files, sorted. */
public final class ManifestSources {
  /**
   * The largest manifest read: 4 MiB, the coordinator's default request limit (maxMessageBytes),
   * less 64 KiB for the rest of the apply request (the source's name). A file is checked before it
   * is read, standard input is read no further than this, so a bigger input is refused at once
   * rather than read, parsed, and refused by the coordinator.
   */
  public static final int MAX_BYTES = 4 * 1024 * 1024 - 64 * 1024;

  private static final String LIMIT = "manifests are limited to " + MAX_BYTES
      + " bytes (4 MiB, the coordinator's request limit, less 64 KiB for the rest of the request)";

  /** One readable input: its name for messages and its text. */
  public record Source(String name, String text) {}

  private ManifestSources() {}

  /**
   * @throws UncheckedIOException naming the path when it cannot be read or is too big
   */
  public static List<Source> read(String arg, InputStream stdin) {
    try {
      if (arg.equals("-")) {
        byte[] bytes = stdin.readNBytes(MAX_BYTES + 1);
        if (bytes.length > MAX_BYTES) {
          throw new TooBig("standard input has more than " + MAX_BYTES + " bytes; " + LIMIT);
        }
        // decoded as strictly as a file: until 2026-12-08 each byte of no UTF-8 became U+FFFD here,
        // and what was applied was not what was piped in
        return List.of(new Source("-", utf8(bytes)));
      }
      Path path = Path.of(arg);
      if (Files.isDirectory(path)) {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(path)) {
          for (Path f : files.filter(ManifestSources::isManifest).sorted().toList()) {
            out.add(new Source(f.toString(), readFile(f, f.toString())));
          }
        }
        if (out.isEmpty()) {
          throw new IOException("no *.yaml, *.yml or *.json files in " + arg);
        }
        return out;
      }
      return List.of(new Source(arg, readFile(path, arg)));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UncheckedIOException(new IOException("the path \"" + arg + "\" does not exist", e));
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new UncheckedIOException(new IOException((arg.equals("-") ? "standard input" : arg) + " is not UTF-8 text", e));
    } catch (TooBig e) {
      throw new UncheckedIOException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(new IOException("cannot read " + arg + ": " + e.getMessage(), e));
    }
  }

  /** A file's text: its size checked before it is read, and no more than the limit read (a file may grow, or be a pipe). */
  private static String readFile(Path file, String name) throws IOException {
    long size = Files.size(file);
    if (size > MAX_BYTES) {
      throw new TooBig(name + " is " + size + " bytes; " + LIMIT);
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    }
    if (bytes.length > MAX_BYTES) {
      throw new TooBig(name + " has more than " + MAX_BYTES + " bytes; " + LIMIT);
    }
    return utf8(bytes);
  }

  /** Bytes as UTF-8 text; bytes of no UTF-8 are refused, not replaced. */
  private static String utf8(byte[] bytes) throws java.nio.charset.CharacterCodingException {
    return StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString();
  }

  /** An input over {@link #MAX_BYTES}: its message stands as it is. */
  private static final class TooBig extends IOException {
    private static final long serialVersionUID = 1L;

    TooBig(String message) {
      super(message);
    }
  }

  private static boolean isManifest(Path p) {
    String n = p.getFileName().toString();
    return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
  }
}
