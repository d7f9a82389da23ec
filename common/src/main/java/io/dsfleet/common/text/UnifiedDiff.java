package io.dsfleet.common.text;

import java.util.ArrayList;
import java.util.List;

/**
 * A unified diff of two texts, line by line, as `diff -u` prints it: headers, then hunks with three
 * lines of context. The edit script is a longest common subsequence (quadratic: for objects of a
 * few thousand lines, what `dsctl diff` shows).
 */
public final class UnifiedDiff {
  private UnifiedDiff() {}

  static final int CONTEXT = 3;

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
    int n = a.size();
    int m = b.size();
    int[][] lcs = new int[n + 1][m + 1];
    for (int i = n - 1; i >= 0; i--) {
      for (int j = m - 1; j >= 0; j--) {
        lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    List<int[]> ops = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a.get(i).equals(b.get(j))) {
        ops.add(new int[] {' ', i, j});
        i++;
        j++;
      } else if (j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j])) {
        ops.add(new int[] {'+', i, j});
        j++;
      } else {
        ops.add(new int[] {'-', i, j});
        i++;
      }
    }
    return ops;
  }

  private static List<String> lines(String text) {
    if (text.isEmpty()) {
      return List.of();
    }
    String t = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    return List.of(t.split("\n", -1));
  }
}
