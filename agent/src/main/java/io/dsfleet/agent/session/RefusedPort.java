package io.dsfleet.agent.session;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * Whether the next try is worth a gRPC channel and a TLS handshake: after a try whose connection
 * was refused (the coordinator's host answered, nothing listened: a coordinator restarting), the
 * next one first connects a plain socket to each address its host resolves to, in the order gRPC
 * tries them, and a refusal at every one is the try's failure. A gRPC try at a closed port cost
 * 0.3-0.5 ms of CPU (a channel, its transport and their teardown), a plain connect 25-40 µs
 * (docs/benchmarks.md, section 3); 10,000 simulated agents trying on the back-off's first steps
 * took both cores of the machine their restarting coordinator shared. A port that answers costs
 * one more connection (closed at once, unread: the coordinator closes it without TLS work) on the
 * first try after the refusals. Only a refusal is probed: a try that timed out, or reached
 * something that closed it, is tried as before.
 */
final class RefusedPort {
  /** How long the plain connect may take: the host refused the last try at once, so it answers within a round trip. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  /** A host's addresses in the order gRPC's DNS resolver tries them (the JDK's: {@link InetAddress#getAllByName}). */
  interface Resolver {
    InetAddress[] addresses(String host) throws UnknownHostException;
  }

  private final Resolver resolver;
  private volatile boolean refused;

  RefusedPort() {
    this(InetAddress::getAllByName);
  }

  RefusedPort(Resolver resolver) {
    this.resolver = resolver;
  }

  /** A try or a session ended with {@code cause} (null: none): whether the address refused its connection. */
  void ended(Throwable cause) {
    refused = isRefusal(cause);
  }

  /**
   * Why the try to {@code target} ("host:port") is not made, every address of its host refusing a
   * plain connect again; null to make it. Every address, as gRPC tries every one: a name whose
   * first address refuses (an AAAA record of a coordinator listening on IPv4 alone, one replica of
   * several behind a name) was refused for good when only the first was probed, and gRPC never
   * tried again (helper-193).
   */
  String refusesAgain(String target) {
    InetSocketAddress address = refused ? address(target) : null;
    if (address == null) {
      return null;
    }
    InetAddress[] all;
    try {
      all = resolver.addresses(address.getHostString());
    } catch (UnknownHostException e) {
      return null; // the try says what it is
    }
    for (InetAddress a : all) {
      if (!refuses(new InetSocketAddress(a, address.getPort()))) {
        refused = false;
        return null;
      }
    }
    return all.length == 0 ? null : "cannot connect to " + target + ": connection refused (nothing listens there; no TLS or gRPC tried)";
  }

  /** Whether a plain connect to {@code address} is refused: an answer, a timeout or no route is not (the try says what it is). */
  private static boolean refuses(InetSocketAddress address) {
    try (Socket probe = new Socket()) {
      probe.connect(address, (int) PROBE_TIMEOUT.toMillis());
      return false;
    } catch (IOException e) {
      return isRefusal(e);
    }
  }

  /**
   * A refused connection somewhere in {@code t}'s causes: Linux's ECONNREFUSED, whichever transport saw
   * it: the JDK's "Connection refused" (the agent's OkHttp, Netty's NIO) or Netty's epoll transport's
   * "finishConnect(..) failed with error(-111): Connection refused" (the simulated agents': at first
   * not taken for one, so none of them probed).
   */
  static boolean isRefusal(Throwable t) {
    for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
      if (t instanceof ConnectException && t.getMessage() != null && t.getMessage().contains("Connection refused")) {
        return true;
      }
    }
    return false;
  }

  /** "host:port" or "[v6]:port" as an address, not resolved; null for a target in another form (a gRPC URI). */
  static InetSocketAddress address(String target) {
    if (target.contains("/")) {
      return null;
    }
    try {
      InetSocketAddress a = io.dsfleet.common.metrics.MetricsEndpoint.parse("coordinator", target); // the project's HOST:PORT
      return a == null || a.getPort() == 0 || a.getHostString().isEmpty() ? null : a;
    } catch (IllegalArgumentException notHostAndPort) {
      return null;
    }
  }
}
