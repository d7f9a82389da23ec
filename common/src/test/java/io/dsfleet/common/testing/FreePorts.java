package io.dsfleet.common.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A port for a server that a test starts later or in another process. A port read off a socket
 * bound to port 0 and closed again comes from the kernel's ephemeral range, from which every other
 * bind to port 0 and every outgoing connection on the machine takes theirs too: in the seconds
 * before the server binds it, one of them may (one CI run failed with "Address already in use").
 * These ports are picked at random below that range instead, where the kernel hands none out, and
 * checked free when picked. A port is handed out once per JVM: a fleet that picks its metrics
 * dashboard and API ports in turn would otherwise get one port twice now and then, the second
 * server failing to bind it (a coordinator then runs without its dashboard: one CI run failed so).
 */
public final class FreePorts {
  private FreePorts() {}

  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public static int pick() {
    int ephemeralLow = ephemeralLow();
    int low = Math.max(10_000, ephemeralLow - 12_000);
    if (ephemeralLow <= low) {
      throw new IllegalStateException("the kernel's ephemeral ports start at " + ephemeralLow + ": no room below them for test servers");
    }
    for (int tries = 0; tries < 200; tries++) {
      int port = ThreadLocalRandom.current().nextInt(low, ephemeralLow);
      if (HANDED_OUT.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        if (HANDED_OUT.add(port)) {
          return port;
        }
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free port in " + low + "-" + (ephemeralLow - 1) + " after 200 tries");
  }

  /** The low end of the kernel's ephemeral port range (Linux's default where it cannot be read). */
  static int ephemeralLow() {
    try {
      // readString would read one character: /proc files report their size as 0
      return Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32_768;
    }
  }
}
