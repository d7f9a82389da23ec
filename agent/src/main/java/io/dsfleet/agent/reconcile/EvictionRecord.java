package io.dsfleet.agent.reconcile;

import io.dsfleet.common.OwnerOnlyFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evictions' state in the agent's state directory ({@code STATE_DIR/evictions}, owner-only,
 * replaced in one rename and synced at each change), so an agent killed during an eviction, or
 * during the back-off after one, starts where it was: the eviction under way goes on (the pod's
 * containers held, its volumes emptied before it starts again) and the back-off holds, its
 * evictions in a row counted on. Before 2026-12-06 all of it was in memory only, and an agent
 * restarted then (killed, upgraded, run out of memory) started the pod again at once, on volumes
 * not emptied, its next eviction counted the first (a failure-injection review).
 *
 * <p>One line a pod: its key, its evictions in a row, when the last one ended and when the pod may
 * start again (epoch milliseconds), whether one is under way and whether for disk pressure, and
 * why (base64 of UTF-8). A line that is not such a line is dropped; a file that cannot be read
 * counts as none (logged): what it held is lost, as it was before there was a file.
 */
final class EvictionRecord {
  private static final Logger log = LoggerFactory.getLogger(EvictionRecord.class);

  /**
   * One pod's evictions.
   *
   * @param count its evictions in a row, the last one's end at {@code at} (0 and {@link Instant#MIN} when none ended yet)
   * @param until when it may start again after the last one (its back-off; {@code at} when at once)
   * @param underWay an eviction is under way: its volumes are not emptied yet
   */
  record Entry(String pod, int count, Instant at, Instant until, boolean underWay, boolean pressured, String why) {}

  private final Path file;

  EvictionRecord(Path file) {
    this.file = file;
  }

  /**
   * Fills an {@link Evictions}' evictions under way (why, by pod key), those for disk pressure and
   * the streaks with what the file holds; the pods read.
   */
  java.util.Set<String> restore(Map<String, String> evicted, java.util.Set<String> pressured, Map<String, Evictions.Streak> streaks) {
    Map<String, Entry> entries = load();
    for (Entry e : entries.values()) {
      if (e.underWay()) {
        evicted.put(e.pod(), e.why());
        if (e.pressured()) {
          pressured.add(e.pod());
        }
      }
      if (e.count() > 0) {
        streaks.put(e.pod(), new Evictions.Streak(e.count(), e.at(), e.until(), e.why()));
      }
    }
    return entries.keySet();
  }

  /** Writes an {@link Evictions}' evictions under way and streaks ({@link #restore}) as they are now. */
  synchronized void save(Map<String, String> evicted, java.util.Set<String> pressured, Map<String, Evictions.Streak> streaks) {
    Map<String, Entry> entries = new java.util.TreeMap<>();
    streaks.forEach((pod, s) -> entries.put(pod, new Entry(pod, s.count(), s.at(), s.until(), false, false, s.why())));
    evicted.forEach((pod, why) -> {
      Evictions.Streak s = streaks.get(pod);
      entries.put(pod, new Entry(pod, s == null ? 0 : s.count(), s == null ? Instant.MIN : s.at(), s == null ? Instant.MIN : s.until(),
          true, pressured.contains(pod), why));
    });
    save(entries.values());
  }

  /** What the file holds, by pod key; none when there is no file or it cannot be read. */
  Map<String, Entry> load() {
    Map<String, Entry> out = new LinkedHashMap<>();
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException none) {
      return out;
    } catch (IOException | RuntimeException e) {
      log.error("cannot read the evictions' record {}: {}; evictions under way and their back-offs start over", file, e.toString());
      return out;
    }
    for (String line : text.split("\n")) {
      Entry e = parse(line);
      if (e != null) {
        out.put(e.pod(), e);
      } else if (!line.isEmpty()) {
        log.warn("evictions' record {}: a line that is no eviction dropped", file);
      }
    }
    return out;
  }

  /** Writes these entries in place of the file's; a failure is logged (the evictions go on in memory) and tried at the next change. */
  synchronized void save(Collection<Entry> entries) {
    StringBuilder b = new StringBuilder();
    for (Entry e : entries) {
      b.append(e.pod()).append('\t').append(e.count()).append('\t').append(millis(e.at())).append('\t').append(millis(e.until()))
          .append('\t').append(e.underWay() ? 1 : 0).append('\t').append(e.pressured() ? 1 : 0).append('\t')
          .append(Base64.getEncoder().encodeToString(e.why().getBytes(StandardCharsets.UTF_8))).append('\n');
    }
    try {
      OwnerOnlyFiles.write(file, b.toString());
    } catch (RuntimeException ex) {
      log.error("cannot write the evictions' record {}: {}; an agent restarted before the next write forgets what changed", file,
          ex.getMessage());
    }
  }

  private static long millis(Instant t) {
    return t.equals(Instant.MIN) ? Long.MIN_VALUE : t.toEpochMilli();
  }

  private static Instant instant(String millis) {
    long m = Long.parseLong(millis);
    return m == Long.MIN_VALUE ? Instant.MIN : Instant.ofEpochMilli(m);
  }

  /** A pod key as the agent makes it: a namespace and a pod name, DNS names both. */
  private static final java.util.regex.Pattern POD = java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");

  private static Entry parse(String line) {
    String[] f = line.split("\t", -1);
    if (f.length != 7 || !POD.matcher(f[0]).matches() || !f[4].matches("[01]") || !f[5].matches("[01]")) {
      return null;
    }
    try {
      int count = Integer.parseInt(f[1]);
      if (count < 0) {
        return null;
      }
      return new Entry(f[0], count, instant(f[2]), instant(f[3]), f[4].equals("1"), f[5].equals("1"),
          new String(Base64.getDecoder().decode(f[6]), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      return null;
    }
  }
}
