package io.dsfleet.agent;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The node's address when {@code --address} is not given, chosen the same way at every start: the
 * IPv4 address of the interface that holds the default route (lowest metric, then name); without
 * a default route, the first IPv4 address of the first non-loopback interface by name that is not
 * a container bridge or veth (docker0, br-*, veth*, cni*, flannel*, cali*, ...). Never docker0's
 * 172.17.0.1, which every Docker host has.
 */
public final class HostAddress {
  /** The address and why it was chosen (for the log). */
  public record Choice(String address, String why) {}

  private static final List<String> CONTAINER_LINKS = List.of("docker", "br-", "veth", "cni", "flannel", "cali", "vxlan", "weave",
      "kube-", "cilium", "tunl", "virbr", "lxc");

  private HostAddress() {}

  public static Choice detect() {
    return detect(Path.of("/proc/net/route"));
  }

  static Choice detect(Path routes) {
    Optional<String> viaRoute = defaultRouteInterface(routes);
    if (viaRoute.isPresent()) {
      Optional<String> a = ipv4(viaRoute.get());
      if (a.isPresent()) {
        return new Choice(a.get(), "the address of " + viaRoute.get() + ", the interface of the default route");
      }
    }
    try {
      List<NetworkInterface> nics = new ArrayList<>(Collections.list(NetworkInterface.getNetworkInterfaces()));
      nics.sort(Comparator.comparing(NetworkInterface::getName));
      for (NetworkInterface nic : nics) {
        if (!nic.isUp() || nic.isLoopback() || isContainerLink(nic.getName())) {
          continue;
        }
        Optional<String> a = ipv4(nic.getName());
        if (a.isPresent()) {
          return new Choice(a.get(), "no default route; the first address of " + nic.getName() + " (interfaces by name, container links skipped)");
        }
      }
    } catch (SocketException e) {
      // fall through
    }
    return new Choice("127.0.0.1", "no default route and no other interface with an IPv4 address");
  }

  static boolean isContainerLink(String name) {
    return CONTAINER_LINKS.stream().anyMatch(name::startsWith);
  }

  /** The interface of the default route with the lowest metric (then name), from /proc/net/route. */
  static Optional<String> defaultRouteInterface(Path routes) {
    try {
      String best = null;
      long bestMetric = Long.MAX_VALUE;
      for (String line : Files.readAllLines(routes)) {
        String[] f = line.trim().split("\\s+");
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        if (f.length < 8 || !f[1].equals("00000000") || !f[7].equals("00000000") || isContainerLink(f[0])) {
          continue;
        }
        long metric = Long.parseLong(f[6]);
        if (metric < bestMetric || metric == bestMetric && f[0].compareTo(best) < 0) {
          best = f[0];
          bestMetric = metric;
        }
      }
      return Optional.ofNullable(best);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> ipv4(String nic) {
    try {
      NetworkInterface n = NetworkInterface.getByName(nic);
      if (n == null) {
        return Optional.empty();
      }
      for (InetAddress a : Collections.list(n.getInetAddresses())) {
        if (a instanceof Inet4Address) {
          return Optional.of(a.getHostAddress());
        }
      }
    } catch (SocketException e) {
      // none
    }
    return Optional.empty();
  }
}
