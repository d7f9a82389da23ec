package io.dsfleet.coordinator.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** kubectl-style plain columns: upper-case headers, three spaces between columns. */
public final class Table {
  private final List<String[]> rows = new ArrayList<>();

  Table(String... headers) {
    rows.add(headers);
  }

  void row(Object... cells) {
    String[] r = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      r[i] = String.valueOf(cells[i]);
    }
    rows.add(r);
  }

  void print(PrintWriter out) {
    int cols = rows.get(0).length;
    int[] width = new int[cols];
    for (String[] r : rows) {
      for (int i = 0; i < cols; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < cols; i++) {
        b.append(r[i]);
        if (i < cols - 1) {
          b.append(" ".repeat(width[i] - r[i].length() + 3));
        }
      }
      out.println(b.toString().stripTrailing());
    }
  }

  boolean empty() {
    return rows.size() == 1;
  }

  /**
   * A node's text (an event's or a status's message) on one line: a line break in it printed as a
   * space. Agents' texts keep theirs, and one made rows or fields of its own under any object (an
   * event of another DaemonSet's deletion that never happened, a container's "Ready: true").
   */
  public static String oneLine(String text) {
    return text.replace('\n', ' ');
  }

  /** kubectl's age: 45s, 12m, 3h, 5d. */
  public static String age(long sinceMillis, long nowMillis) {
    if (sinceMillis <= 0) {
      return "<unknown>";
    }
    Duration d = Duration.ofMillis(Math.max(0, nowMillis - sinceMillis));
    if (d.toSeconds() < 120) {
      return d.toSeconds() + "s";
    }
    if (d.toMinutes() < 120) {
      return d.toMinutes() + "m";
    }
    if (d.toHours() < 48) {
      return d.toHours() + "h";
    }
    return d.toDays() + "d";
  }
}
