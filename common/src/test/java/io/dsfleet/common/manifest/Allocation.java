package io.dsfleet.common.manifest;

import java.lang.management.ManagementFactory;

/** Bytes the current thread allocates while running something (HotSpot's per-thread counter). */
public final class Allocation {
  private Allocation() {}

  public static long during(Runnable r) {
    var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(id);
    r.run();
    return mx.getThreadAllocatedBytes(id) - before;
  }
}
