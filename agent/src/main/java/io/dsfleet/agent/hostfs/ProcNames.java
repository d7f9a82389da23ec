package io.dsfleet.agent.hostfs;

/** Names as /proc writes them. */
public final class ProcNames {
  private ProcNames() {}

  /** Whether {@code name} is a process or thread ID as /proc names its entries and a {@code children} file lists them: digits, at most ten. */
  public static boolean isPid(String name) {
    if (name.isEmpty() || name.length() > 10) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) < '0' || name.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
