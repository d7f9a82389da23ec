package io.dsfleet.common;

import java.util.concurrent.ThreadFactory;

/** Threads that never keep the JVM up, all named alike (thread dumps and per-thread CPU group by name). */
public final class DaemonThreads {
  private DaemonThreads() {}

  public static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
