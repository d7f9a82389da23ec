package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * A mount table as the kernel writes it ({@code /proc/PID/mountinfo}, proc(5)), one mount a line:
 * {@code ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS}. The
 * one reader of it for the agent's mounts, disk pressure's held files and hostPaths. Read as
 * ISO-8859-1, which keeps each byte: the kernel escapes only space, tab, newline and backslash
 * ({@code \040}), so a container that names a directory as it likes (a bind's source shows its
 * path) can neither split a line nor, with a name that is no UTF-8, make the table unreadable (read
 * as UTF-8, that one line failed the whole table, and with it every pod's Secret, memory emptyDir and
 * subPath and every removal).
 */
final class MountInfo {
  private MountInfo() {}

  /**
   * One mount's line.
   *
   * @param dev its file system's device, as {@link #makedev} gives it
   * @param root the path within that file system it shows (a bind's source there), unescaped
   * @param point where it is mounted, unescaped (ISO-8859-1: a byte a character)
   * @param rest the line after the mount point: its options, optional fields, the separator and its file system's
   */
  record Mount(int id, long dev, String root, String point, String rest) {
    /** After the separator, its file system's type; "" when the line has none. */
    String fsType() {
      String[] fs = fileSystem();
      return fs.length > 0 ? fs[0] : "";
    }

    /** Its file system's options ({@code upperdir=...} of an overlay), escaped as the table has them; "" when none. */
    String superOptions() {
      String[] fs = fileSystem();
      return fs.length > 2 ? fs[2] : "";
    }

    /** The fields after the separator (" - ": no path field is "-", paths are absolute, and a space in one is escaped). */
    private String[] fileSystem() {
      int dash = (" " + rest).indexOf(" - ");
      return dash < 0 ? new String[0] : rest.substring(dash + 2).split(" ");
    }
  }

  /** The table's lines; an exception when it cannot be read (a process gone). */
  static List<String> lines(Path table) throws IOException {
    return Files.readAllLines(table, StandardCharsets.ISO_8859_1);
  }

  /**
   * A line read; null when it is no mount's (its ID or device not numbers, fields missing). The
   * fields after the mount point are split only when asked for: a container may have 100,000
   * mounts, each a line of the table disk pressure reads.
   */
  static Mount parse(String line) {
    String[] f = line.split(" ", 6);
    if (f.length < 5) {
      return null;
    }
    try {
      return new Mount(Integer.parseInt(f[0]), device(f[2]), unescape(f[3]), unescape(f[4]), f.length > 5 ? f[5] : "");
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** glibc's makedev: st_dev as the JDK's {@code unix:dev} gives it. */
  static long makedev(long major, long minor) {
    return ((major & 0xfffL) << 8) | ((major & 0xfffff000L) << 32) | (minor & 0xffL) | ((minor & 0xffffff00L) << 12);
  }

  /** A mount table's device field, {@code MAJOR:MINOR}, as {@link #makedev} gives it. */
  static long device(String majorMinor) {
    int colon = majorMinor.indexOf(':');
    if (colon < 0) {
      throw new NumberFormatException("no MAJOR:MINOR: " + majorMinor);
    }
    return makedev(Long.parseLong(majorMinor, 0, colon, 10), Long.parseLong(majorMinor, colon + 1, majorMinor.length(), 10));
  }

  /** A field's escapes ({@code \ooo}: space, tab, newline, backslash) undone. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
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

  /**
   * An unescaped path of the table as the JDK would name that path: its bytes decoded as the JDK
   * decodes names ({@code sun.jnu.encoding}); null when the JDK can make no path of it.
   */
  static Path path(String unescaped) {
    try {
      return Path.of(new String(unescaped.getBytes(StandardCharsets.ISO_8859_1), JNU));
    } catch (InvalidPathException e) {
      return null;
    }
  }

  private static final Charset JNU = jnu();

  private static Charset jnu() {
    try {
      return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    } catch (IllegalArgumentException e) {
      return Charset.defaultCharset();
    }
  }
}
