package io.dsfleet.agent.hostfs;

import java.util.HashMap;
import java.util.Map;

/**
 * The files each pod was seen to hold, to count each once: inode numbers by device, in open
 * addressing (8 bytes a slot), at most {@code cap} a pod. Before, a text key was kept for each
 * (about 100 bytes): half a million empty deleted files held by one default container used 46 of
 * the agent's 48 MiB, a million ran it out.
 */
final class Seen {
  private final long cap;
  /** Whether files are counted (one each), not their bytes. */
  final boolean files;
  private final Map<String, Map<Object, LongSet>> byPod = new HashMap<>();
  private final Map<String, Long> counts = new HashMap<>();

  Seen(long cap, boolean files) {
    this.cap = cap;
    this.files = files;
  }

  /** 1 when the pod was not seen to hold it, 0 when it was, -1 when the pod holds more than {@code cap}. */
  int add(String pod, Object dev, long ino) {
    LongSet set = byPod.computeIfAbsent(pod, k -> new HashMap<>()).computeIfAbsent(dev, k -> new LongSet());
    if (set.contains(ino)) {
      return 0;
    }
    if (counts.merge(pod, 1L, Long::sum) > cap) {
      return -1;
    }
    set.add(ino);
    return 1;
  }

  /** A set of longs in one array (0 kept aside). */
  private static final class LongSet {
    private long[] slots = new long[16];
    private int size;
    private boolean zero;

    boolean contains(long v) {
      if (v == 0) {
        return zero;
      }
      int mask = slots.length - 1;
      for (int i = mix(v) & mask; slots[i] != 0; i = (i + 1) & mask) {
        if (slots[i] == v) {
          return true;
        }
      }
      return false;
    }

    void add(long v) {
      if (v == 0) {
        zero = true;
        return;
      }
      if ((size + 1) * 2 > slots.length) {
        long[] old = slots;
        slots = new long[old.length * 2];
        size = 0;
        for (long o : old) {
          if (o != 0) {
            put(o);
          }
        }
      }
      put(v);
    }

    private void put(long v) {
      int mask = slots.length - 1;
      int i = mix(v) & mask;
      while (slots[i] != 0) {
        if (slots[i] == v) {
          return;
        }
        i = (i + 1) & mask;
      }
      slots[i] = v;
      size++;
    }

    private static int mix(long v) {
      v = (v ^ (v >>> 33)) * 0xff51afd7ed558ccdL;
      v = (v ^ (v >>> 33)) * 0xc4ceb9fe1a85ec53L;
      return (int) (v ^ (v >>> 33));
    }
  }
}
