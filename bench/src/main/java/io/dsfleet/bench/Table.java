package io.dsfleet.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A Markdown table: what every benchmark prints, ready to paste into docs/benchmarks.md. */
final class Table {
  private final String title;
  private final String[] headers;
  private final List<String[]> rows = new ArrayList<>();

  Table(String title, String... headers) {
    this.title = title;
    this.headers = headers;
  }

  Table row(Object... cells) {
    String[] r = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      r[i] = String.valueOf(cells[i]);
    }
    rows.add(r);
    return this;
  }

  List<String[]> rows() {
    return rows;
  }

  void print(PrintStream out) {
    out.println();
    out.println("### " + title);
    out.println();
    out.println("| " + String.join(" | ", headers) + " |");
    out.println("|" + "---|".repeat(headers.length));
    for (String[] r : rows) {
      out.println("| " + String.join(" | ", r) + " |");
    }
    out.flush();
  }

  static String ms(double v) {
    return Double.isNaN(v) ? "-" : "%.0f ms".formatted(v);
  }

  static String ratio(double a, double b) {
    return Double.isNaN(a) || Double.isNaN(b) || b == 0 ? "-" : "%.2f".formatted(a / b);
  }
}
