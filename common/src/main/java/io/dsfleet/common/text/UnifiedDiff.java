package io.dsfleet.common.text;

import java.util.ArrayList;
import java.util.List;

/**
 * A unified diff of two texts, line by line, as `diff -u` prints it: headers, then hunks with three
 * lines of context. The lines both texts start and end with are set aside first; what is left in
 * between is matched by a longest common subsequence, quadratic in time and memory, so above
 * {@link #MAX_CELLS} it is shown as removed and added whole (still a correct patch, only longer).
 */
public final class UnifiedDiff {
  private UnifiedDiff() {}

  static final int CONTEXT = 3;
  /** The largest table of the subsequence search (4 bytes a cell): 16 MB. */
  static final long MAX_CELLS = 4_000_000;

  /** The diff of {@code before} and {@code after}; "" when they are equal. */
  public static String of(String beforeName, String before, String afterName, String after) {
    List<String> a = lines(before);
    List<String> b = lines(after);
    if (a.equals(b)) {
      return "";
    }
    List<int[]> ops = script(a, b); // each: {op, aIndex, bIndex}: ' ' kept, '-' removed, '+' added
    StringBuilder out = new StringBuilder();
    out.append("--- ").append(beforeName).append('\n').append("+++ ").append(afterName).append('\n');
    int i = 0;
    while (i < ops.size()) {
      if (ops.get(i)[0] == ' ') {
        i++;
        continue;
      }
      int start = Math.max(0, i - CONTEXT);
      int end = i;
      // extend the hunk while the next change is within twice the context
      while (true) {
        int next = end;
        while (next < ops.size() && ops.get(next)[0] != ' ') {
          next++;
        }
        int kept = next;
        while (kept < ops.size() && ops.get(kept)[0] == ' ') {
          kept++;
        }
        if (kept < ops.size() && kept - next <= 2 * CONTEXT) {
          end = kept;
          continue;
        }
        end = Math.min(ops.size(), next + CONTEXT);
        break;
      }
      hunk(out, ops.subList(start, end), a, b);
      i = end;
    }
    return out.toString();
  }

  private static void hunk(StringBuilder out, List<int[]> ops, List<String> a, List<String> b) {
    int aStart = -1;
    int bStart = -1;
    int aCount = 0;
    int bCount = 0;
    for (int[] op : ops) {
      if (op[0] != '+') {
        aStart = aStart < 0 ? op[1] : aStart;
        aCount++;
      }
      if (op[0] != '-') {
        bStart = bStart < 0 ? op[2] : bStart;
        bCount++;
      }
    }
    // an empty side is numbered by the line before it, as diff does
    int aFirst = aCount == 0 ? before(ops, 1) : aStart + 1;
    int bFirst = bCount == 0 ? before(ops, 2) : bStart + 1;
    out.append("@@ -").append(range(aFirst, aCount)).append(" +").append(range(bFirst, bCount)).append(" @@\n");
    for (int[] op : ops) {
      out.append((char) op[0]).append(op[0] == '+' ? b.get(op[2]) : a.get(op[1])).append('\n');
    }
  }

  private static int before(List<int[]> ops, int side) {
    return ops.get(0)[side];
  }

  private static String range(int first, int count) {
    return count == 1 ? String.valueOf(first) : first + "," + count;
  }

  private static List<int[]> script(List<String> a, List<String> b) {
    List<int[]> ops = new ArrayList<>();
    int head = 0;
    while (head < a.size() && head < b.size() && a.get(head).equals(b.get(head))) {
      ops.add(new int[] {' ', head, head});
      head++;
    }
    int tail = 0;
    while (tail < a.size() - head && tail < b.size() - head && a.get(a.size() - 1 - tail).equals(b.get(b.size() - 1 - tail))) {
      tail++;
    }
    int n = a.size() - tail;
    int m = b.size() - tail;
    if ((long) (n - head + 1) * (m - head + 1) > MAX_CELLS) {
      for (int i = head; i < n; i++) {
        ops.add(new int[] {'-', i, head});
      }
      for (int j = head; j < m; j++) {
        ops.add(new int[] {'+', n, j});
      }
    } else {
      middle(a, b, head, n, m, ops);
    }
    for (int k = 0; k < tail; k++) {
      ops.add(new int[] {' ', n + k, m + k});
    }
    return ops;
  }

  /** The script of a[head, n) against b[head, m), by a longest common subsequence. */
  private static void middle(List<String> a, List<String> b, int head, int n, int m, List<int[]> ops) {
    int[][] lcs = new int[n - head + 1][m - head + 1];
    for (int i = n - 1; i >= head; i--) {
      for (int j = m - 1; j >= head; j--) {
        int x = i - head;
        int y = j - head;
        lcs[x][y] = a.get(i).equals(b.get(j)) ? lcs[x + 1][y + 1] + 1 : Math.max(lcs[x + 1][y], lcs[x][y + 1]);
      }
    }
    int i = head;
    int j = head;
    while (i < n || j < m) {
      if (i < n && j < m && a.get(i).equals(b.get(j))) {
        ops.add(new int[] {' ', i, j});
        i++;
        j++;
      } else if (j < m && (i == n || lcs[i - head][j + 1 - head] > lcs[i + 1 - head][j - head])) {
        ops.add(new int[] {'+', i, j});
        j++;
      } else {
        ops.add(new int[] {'-', i, j});
        i++;
      }
    }
  }

  private static List<String> lines(String text) {
    if (text.isEmpty()) {
      return List.of();
    }
    String t = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    return List.of(t.split("\n", -1));
  }
}
