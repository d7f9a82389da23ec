package io.dsfleet.common.text;

/** Text cut to a length, never between the two halves of a surrogate pair. */
public final class Cut {
  private Cut() {}

  /**
   * The most of a message an agent reports and the coordinator keeps (a container's or the runtime's
   * message): the kubelet keeps a container's termination message to 4 KiB.
   */
  public static final int AGENT_MESSAGE = 4096;

  /** {@code s} itself when it is at most {@code max} characters, else its first {@code max} or, where that ends half a pair, one fewer. */
  public static String prefix(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int end = max > 0 && Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
    return s.substring(0, end);
  }
}
