package io.dsfleet.coordinator.fleet;

/**
 * Text an agent sends about its pods and runtime (reasons, messages), bounded before the
 * coordinator keeps it, records it as events or shows it: a node's certificate must not buy a
 * megabyte of event per report, nor terminal escapes in an operator's `dsctl describe`.
 */
public final class AgentText {
  /** A reason is a word (Kubernetes' CamelCase reasons are under 40 characters). */
  static final int REASON = 128;
  /** A message: as the agent reports it ({@link io.dsfleet.common.text.Cut#AGENT_MESSAGE}). */
  public static final int MESSAGE = io.dsfleet.common.text.Cut.AGENT_MESSAGE;

  private AgentText() {}

  /**
   * {@code s} cut to {@code max} characters (marked "...") with control characters other than
   * newline and tab, the bidirectional marks, embeddings, overrides and isolates (text that reads
   * otherwise than it is, in a terminal or the dashboard) and the line and paragraph separators
   * replaced by U+FFFD; the same string when it needs neither.
   */
  public static String bounded(String s, int max) {
    boolean clean = s.length() <= max;
    for (int i = 0; clean && i < s.length(); i++) {
      clean = !control(s.charAt(i));
    }
    if (clean) {
      return s;
    }
    String cut = s.length() <= max ? s : io.dsfleet.common.text.Cut.prefix(s, Math.max(0, max - 3)) + "...";
    StringBuilder out = new StringBuilder(cut.length());
    for (int i = 0; i < cut.length(); i++) {
      char c = cut.charAt(i);
      out.append(control(c) ? '\uFFFD' : c);
    }
    return out.toString();
  }

  /**
   * A line of a pod's log as dsctl prints it under its node's prefix: whole but for a last
   * carriage return (the line end of a container with a terminal, `tty: true`, is CR LF), with the
   * characters {@link #bounded} replaces and line breaks (a node's agent splits its pods' output
   * at them, so one inside a line is a node's making) replaced by U+FFFD; the same string when it
   * has none. Else a pod prints a carriage return and another node's prefix over its own, or sets
   * the operator's clipboard (OSC 52) or window title.
   */
  public static String logLine(String line) {
    String s = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\n' || control(c)) {
        if (out == null) {
          out = new StringBuilder(s);
        }
        out.setCharAt(i, '\uFFFD');
      }
    }
    return out == null ? s : out.toString();
  }

  private static boolean control(char c) {
    return (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c < 0xa0) || (c >= 0x2028 && c <= 0x202e)
        || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
  }
}
