package io.dsfleet.common.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Reads `-f FILE|DIR|-` the way kubectl does: a directory means its *.yaml, *.yml and *.json files, sorted. */
public final class ManifestSources {
  /** One readable input: its name for messages and its text. */
  public record Source(String name, String text) {}

  private ManifestSources() {}

  /**
   * @throws UncheckedIOException naming the path when it cannot be read
   */
  public static List<Source> read(String arg, InputStream stdin) {
    try {
      if (arg.equals("-")) {
        return List.of(new Source("-", new String(stdin.readAllBytes(), StandardCharsets.UTF_8)));
      }
      Path path = Path.of(arg);
      if (Files.isDirectory(path)) {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(path)) {
          for (Path f : files.filter(ManifestSources::isManifest).sorted().toList()) {
            out.add(new Source(f.toString(), Files.readString(f)));
          }
        }
        if (out.isEmpty()) {
          throw new IOException("no *.yaml, *.yml or *.json files in " + arg);
        }
        return out;
      }
      return List.of(new Source(arg, Files.readString(path)));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UncheckedIOException(new IOException("the path \"" + arg + "\" does not exist", e));
    } catch (java.nio.charset.MalformedInputException e) {
      throw new UncheckedIOException(new IOException(arg + " is not UTF-8 text", e));
    } catch (IOException e) {
      throw new UncheckedIOException(new IOException("cannot read " + arg + ": " + e.getMessage(), e));
    }
  }

  private static boolean isManifest(Path p) {
    String n = p.getFileName().toString();
    return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
  }
}
