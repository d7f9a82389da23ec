package io.dsfleet.common.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** `dsctl diff`'s unified diffs: as `diff -u` prints them, and always a patch that turns the one text into the other. */
class UnifiedDiffTest {
  static final String LETTERS = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";

  @Test
  void twoChangesFarApartAreTwoHunksAsDiffPrintsThem() {
    // the expected text is what GNU diff -u prints for the same two files
    assertThat(UnifiedDiff.of("old", LETTERS, "new", LETTERS.replace("d\n", "D\n") + "n\n")).isEqualTo("""
        --- old
        +++ new
        @@ -1,7 +1,7 @@
         a
         b
         c
        -d
        +D
         e
         f
         g
        @@ -11,3 +11,4 @@
         k
         l
         m
        +n
        """);
  }

  @Test
  void aNewObjectIsAllAdditionsAndEqualTextsNoDiff() {
    assertThat(UnifiedDiff.of("/dev/null", "", "new", "a\nb\n")).isEqualTo("--- /dev/null\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    assertThat(UnifiedDiff.of("old", LETTERS, "new", LETTERS)).isEmpty();
  }

  @Test
  void everyDiffIsAPatchThatTurnsTheOldTextIntoTheNew() {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    for (int round = 0; round < 300; round++) {
      List<String> a = randomLines(r);
      List<String> b = new ArrayList<>(a);
      int edits = r.nextInt(6);
      for (int e = 0; e < edits; e++) {
        int at = b.isEmpty() ? 0 : r.nextInt(b.size() + 1);
        switch (r.nextInt(3)) {
          case 0 -> b.add(at, "x" + r.nextInt(5));
          case 1 -> {
            if (!b.isEmpty()) {
              b.remove(Math.min(at, b.size() - 1));
            }
          }
          default -> {
            if (!b.isEmpty()) {
              b.set(Math.min(at, b.size() - 1), "y" + r.nextInt(5));
            }
          }
        }
      }
      String before = text(a);
      String after = text(b);
      String diff = UnifiedDiff.of("a", before, "b", after);
      assertThat(diff.isEmpty()).as("seed %d: empty exactly when equal", seed).isEqualTo(a.equals(b));
      if (!diff.isEmpty()) {
        assertThat(apply(a, diff)).as("seed %d: patch of\n%s\nto\n%s:\n%s", seed, before, after, diff).isEqualTo(b);
      }
    }
  }

  /** A ConfigMap of a megabyte renders to tens of thousands of lines: one change among them costs no quadratic table. */
  @Test
  void aLongTextWithOneChangeIsOneHunk() {
    List<String> a = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      a.add("line " + i);
    }
    List<String> b = new ArrayList<>(a);
    b.set(25_000, "changed");
    String diff = UnifiedDiff.of("a", text(a), "b", text(b));
    assertThat(diff).isEqualTo("--- a\n+++ b\n@@ -24998,7 +24998,7 @@\n line 24997\n line 24998\n line 24999\n-line 25000\n+changed\n"
        + " line 25001\n line 25002\n line 25003\n");
  }

  @Test
  void aMiddleTooLargeToMatchIsRemovedAndAddedWholeStillAPatch() {
    List<String> a = new ArrayList<>(List.of("same head"));
    List<String> b = new ArrayList<>(List.of("same head"));
    for (int i = 0; i < 2_100; i++) {
      a.add("old " + i);
      b.add("new " + i);
    }
    a.add("same tail");
    b.add("same tail");
    String diff = UnifiedDiff.of("a", text(a), "b", text(b));
    assertThat(diff).startsWith("--- a\n+++ b\n@@ -1,2102 +1,2102 @@\n same head\n-old 0\n");
    assertThat(apply(a, diff)).isEqualTo(b);
  }

  static List<String> randomLines(Random r) {
    List<String> out = new ArrayList<>();
    int n = r.nextInt(25);
    for (int i = 0; i < n; i++) {
      out.add("l" + r.nextInt(8));
    }
    return out;
  }

  static String text(List<String> lines) {
    return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
  }

  static final Pattern HUNK = Pattern.compile("@@ -(\\d+)(?:,(\\d+))? \\+(\\d+)(?:,(\\d+))? @@");

  /** Applies a unified diff strictly: every context and removed line must match, the counts too. */
  static List<String> apply(List<String> a, String diff) {
    List<String> out = new ArrayList<>();
    String[] lines = diff.split("\n");
    int pos = 0; // next line of a not yet copied
    for (int i = 2; i < lines.length; ) {
      Matcher m = HUNK.matcher(lines[i]);
      assertThat(m.matches()).as("hunk header: %s", lines[i]).isTrue();
      int aFirst = Integer.parseInt(m.group(1));
      int aCount = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
      int bCount = m.group(4) == null ? 1 : Integer.parseInt(m.group(4));
      int start = aCount == 0 ? aFirst : aFirst - 1;
      assertThat(start).isGreaterThanOrEqualTo(pos);
      out.addAll(a.subList(pos, start));
      pos = start;
      int seenA = 0;
      int seenB = 0;
      for (i++; i < lines.length && !lines[i].startsWith("@@"); i++) {
        char op = lines[i].charAt(0);
        String line = lines[i].substring(1);
        if (op == '+') {
          out.add(line);
          seenB++;
        } else {
          assertThat(a.get(pos)).isEqualTo(line);
          pos++;
          seenA++;
          if (op == ' ') {
            out.add(line);
            seenB++;
          }
        }
      }
      assertThat(seenA).isEqualTo(aCount);
      assertThat(seenB).isEqualTo(bCount);
    }
    out.addAll(a.subList(pos, a.size()));
    return out;
  }
}
