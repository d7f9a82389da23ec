package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mounts the agent makes on the host, through mount(8) and umount(8) as the kubelet does: a tmpfs
 * for Secret volumes and {@code emptyDir.medium: Memory}, and bind mounts that pin a resolved
 * subPath. What is mounted is read back from {@code /proc/self/mountinfo}, never remembered only
 * in memory, so a restarted agent unmounts what an earlier one left.
 */
public class Mounts {
  private final Path mountinfo;

  public Mounts() {
    this(Path.of("/proc/self/mountinfo"));
  }

  Mounts(Path mountinfo) {
    this.mountinfo = mountinfo;
  }

  /** A tmpfs at {@code dir}; options such as "mode=0755,size=16777216". */
  public void tmpfs(Path dir, String options) throws IOException {
    run("mount", "-t", "tmpfs", "-o", "nosuid,nodev," + options, "dsfleet-tmpfs", dir.toString());
  }

  /**
   * Binds {@code source} at {@code target} (which must exist). It keeps the propagation of where it
   * is, so its unmount reaches every copy a shared parent made.
   */
  public void bind(Path source, Path target) throws IOException {
    // --no-canonicalize: a /proc/PID/fd/N source reaches the kernel as it is, which resolves it to
    // the handle's inode; mount(8) would otherwise turn it back into a path string
    run("mount", "--no-canonicalize", "--bind", source.toString(), target.toString());
  }

  public void unmount(Path target) throws IOException {
    run("umount", target.toString());
  }

  /** Mount points at or below {@code dir}, deepest first. */
  public List<Path> under(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    // ISO-8859-1 keeps each byte: the kernel escapes only space, tab, newline and backslash, and a
    // name that is no UTF-8 shows as it is (a container renames a directory above a subPath the agent
    // bound: that bind's line shows its source's path); read as UTF-8, that one line failed the
    // whole table, and with it every pod's secret, memory emptyDir and subPath and every removal
    for (String line : Files.readAllLines(mountinfo, StandardCharsets.ISO_8859_1)) {
      String[] f = line.split(" ");
      if (f.length > 4) {
        Path p = path(f[4]);
        if (p != null && p.startsWith(dir)) {
          out.add(p);
        }
      }
    }
    out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    return out;
  }

  public boolean isMountPoint(Path p) throws IOException {
    return under(p).contains(p);
  }

  /** Unmounts everything at or below {@code dir}; true when nothing is left mounted there. */
  public boolean unmountAll(Path dir) throws IOException {
    for (Path p : under(dir)) {
      try {
        unmount(p);
      } catch (IOException e) {
        // reported below by what is still mounted
      }
    }
    return under(dir).isEmpty();
  }

  /**
   * A path field of a mount table read as ISO-8859-1, as the JDK would name that path: escapes
   * undone, its bytes decoded as the JDK decodes names ({@code sun.jnu.encoding}); null when the JDK
   * can make no path of it.
   */
  static Path path(String field) {
    try {
      return Path.of(new String(unescape(field).getBytes(StandardCharsets.ISO_8859_1), JNU));
    } catch (java.nio.file.InvalidPathException e) {
      return null;
    }
  }

  private static final java.nio.charset.Charset JNU = jnu();

  private static java.nio.charset.Charset jnu() {
    try {
      return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    } catch (IllegalArgumentException e) {
      return java.nio.charset.Charset.defaultCharset();
    }
  }

  /** mountinfo escapes space, tab, newline and backslash as \ooo. */
  static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()) {
        try {
          b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
          i += 3;
          continue;
        } catch (NumberFormatException e) {
          // not an escape
        }
      }
      b.append(c);
    }
    return b.toString();
  }

  private static void run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        return "";
      }
    });
    String out;
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + ": timed out after 30 s");
      }
      out = output.get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", cmd));
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      out = "";
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + ")" + (out.isEmpty() ? "" : ": " + out));
    }
  }
}
