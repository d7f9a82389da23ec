package io.dsfleet.agent.session;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/**
 * Whether the next try is worth a gRPC channel and a TLS handshake: after a try whose connection
 * was refused (the coordinator's host answered, nothing listened: a coordinator restarting), the
 * next one first connects a plain socket, and a refusal of that one is the try's failure. A gRPC
 * try at a closed port cost 0.3-0.5 ms of CPU (a channel, its transport and their teardown), a
 * plain connect 25-40 µs (docs/benchmarks.md, section 3); 10,000 simulated agents trying on the
 * back-off's first steps took both cores of the machine their restarting coordinator shared.
 * A port that answers costs one more connection (closed at once, unread: the coordinator closes it
 * without TLS work) on the first try after the refusals. Only a refusal is probed: a try that
 * timed out, or reached something that closed it, is tried as before.
 */
final class RefusedPort {
  /** How long the plain connect may take: the host refused the last try at once, so it answers within a round trip. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  private volatile boolean refused;

  /** A try or a session ended with {@code cause} (null: none): whether the address refused its connection. */
  void ended(Throwable cause) {
    refused = isRefusal(cause);
  }

  /** Why the try to {@code target} ("host:port") is not made, its port refusing a plain connect again; null to make it. */
  String refusesAgain(String target) {
    InetSocketAddress address = refused ? address(target) : null;
    if (address == null || address.isUnresolved()) {
      return null;
    }
    try (Socket probe = new Socket()) {
      probe.connect(address, (int) PROBE_TIMEOUT.toMillis());
      refused = false;
      return null;
    } catch (IOException e) {
      if (!isRefusal(e)) {
        refused = false;
        return null; // a timeout, no route: the try says what it is
      }
      return "cannot connect to " + target + ": connection refused (nothing listens there; no TLS or gRPC tried)";
    }
  }

  /**
   * A refused connection somewhere in {@code t}'s causes: Linux's ECONNREFUSED, whichever transport saw
   * it: the JDK's "Connection refused" (the agent's OkHttp, Netty's NIO) or Netty's epoll transport's
   * "finishConnect(..) failed with error(-111): Connection refused" (the simulated agents': until
   * helper-193 not taken for one, so none of them probed).
   */
  static boolean isRefusal(Throwable t) {
    for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
      if (t instanceof ConnectException && t.getMessage() != null && t.getMessage().contains("Connection refused")) {
        return true;
      }
    }
    return false;
  }

  /** "host:port" or "[v6]:port" as an address (resolved now); null for a target in another form (a gRPC URI). */
  static InetSocketAddress address(String target) {
    int colon = target.lastIndexOf(':');
    if (target.contains("/") || colon <= 0) {
      return null;
    }
    String host = target.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      int port = Integer.parseInt(target.substring(colon + 1));
      return port < 1 || port > 65535 || host.isEmpty() ? null : new InetSocketAddress(host, port);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
