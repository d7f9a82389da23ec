package io.dsfleet.coordinator;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Caps on open connections, enforced at accept, before any TLS work: a total kept well below the
 * process's file-descriptor limit and a cap per peer address. A connection over a cap is closed
 * at once, so a flood of idle connections costs the coordinator neither descriptors nor
 * handshakes beyond the caps, and dsctl and agents on connections already open (or from other
 * addresses) are served as usual. Idle connections that hold no call are closed by gRPC's
 * max-connection-idle ({@link Settings#idleTimeout}).
 */
public final class ConnectionLimits {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);

  /**
   * @param total open connections at most (agents hold one each, dsctl one per command)
   * @param perAddress open connections from one peer address (an IPv6 /64) at most (raise it for agents behind one NAT address)
   * @param idleTimeout a connection with no call open this long is closed (agents always hold their session)
   */
  public record Settings(int total, int perAddress, Duration idleTimeout) {
    public Settings {
      if (total < 1 || perAddress < 1 || perAddress > total) {
        throw new IllegalArgumentException("connection limits must be positive and the per-address one at most the total (got "
            + total + " total, " + perAddress + " per address)");
      }
      if (idleTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("idleConnectionTimeout must be at least 1s");
      }
    }

    /**
     * Half the file-descriptor limit (the store, the JVM and logs need the rest), at least 64 and at
     * most 100,000; a quarter of that per address, at most 1,024; idle connections closed after 20 s.
     */
    public static Settings defaults() {
      long fds = io.dsfleet.common.FileDescriptors.limit();
      int total = (int) Math.max(64, Math.min(100_000, fds / 2));
      return new Settings(total, Math.max(1, Math.min(1024, total / 4)), Duration.ofSeconds(20));
    }
  }

  private final Settings settings;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<InetAddress, Integer> byAddress = new ConcurrentHashMap<>();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong abandoned = new AtomicLong();
  private final Throttle warnings = new Throttle(Duration.ofSeconds(10));

  public ConnectionLimits(Settings settings) {
    this.settings = settings;
  }

  public Settings settings() {
    return settings;
  }

  /** Connections refused at accept since the start. */
  public long refused() {
    return refused.get();
  }

  /** Connections closed at their accept or their first read because their client had already gone ({@link AbandonedTries}). */
  public long abandoned() {
    return abandoned.get();
  }

  /** Open connections now. */
  public int open() {
    return open.get();
  }

  /**
   * Linux's native epoll transport where it loads (gRPC ships it: fewer system calls and less
   * garbage per message than NIO, which counts at thousands of heartbeats a second), NIO elsewhere.
   */
  public static final boolean EPOLL = Epoll.isAvailable();

  /**
   * How long a busy transport thread lets messages gather before it waits for its sockets
   * ({@link GatheredWakeups}): 10 ms unless {@code -Ddsfleet.transport.gatherMillis} says otherwise;
   * 0 waits as Netty does (docs/coordinator.md).
   */
  public static Duration gather() {
    return gather(System.getProperty("dsfleet.transport.gatherMillis", "10"));
  }

  static Duration gather(String millis) {
    try {
      long ms = Long.parseLong(millis.trim());
      if (ms >= 0 && ms <= 100) {
        return Duration.ofMillis(ms);
      }
    } catch (NumberFormatException e) {
      // the message below names the property
    }
    throw new IllegalArgumentException("-Ddsfleet.transport.gatherMillis must be 0 (off) to 100 milliseconds, got '" + millis + "'");
  }

  /** Wake-ups a second that make a transport thread busy: 200 (1,000 agents heartbeating wake each of 4 threads about 50 times). */
  static final int BUSY_WAKEUPS = 200;

  /** Event loops of the transport {@link #newServerChannel} uses; on epoll, gathering while busy. */
  public static EventLoopGroup eventLoops(int threads, java.util.concurrent.ThreadFactory threadFactory) {
    if (!EPOLL) {
      return new NioEventLoopGroup(threads, threadFactory);
    }
    Duration gather = gather();
    return gather.isZero() ? new EpollEventLoopGroup(threads, threadFactory)
        : new EpollEventLoopGroup(threads, threadFactory, GatheredWakeups.factory(gather, BUSY_WAKEUPS));
  }

  /**
   * The server channel to serve on, with every accepted connection counted or refused (closed)
   * before it reaches gRPC: the first handler of the listening channel sees each accepted
   * connection before the acceptor that would register it.
   */
  public ServerChannel newServerChannel() {
    ServerChannel channel = EPOLL ? new EpollServerSocketChannel() : new NioServerSocketChannel();
    channel.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object accepted) {
        if (accepted instanceof Channel child && !admit(child)) {
          child.unsafe().closeForcibly();
          return;
        }
        ctx.fireChannelRead(accepted);
      }
    });
    return channel;
  }

  private boolean admit(Channel child) {
    if (child instanceof EpollSocketChannel socket && AbandonedTries.gone(socket)) { // its client closed while it waited to be accepted
      abandoned.incrementAndGet();
      return false;
    }
    InetAddress peer = child.remoteAddress() instanceof InetSocketAddress a ? peer(a.getAddress()) : null;
    int total = open.incrementAndGet();
    int mine = peer == null ? 0 : byAddress.merge(peer, 1, Integer::sum);
    if (total > settings.total() || mine > settings.perAddress()) {
      release(peer);
      refused.incrementAndGet();
      warn(peer, total > settings.total());
      return false;
    }
    child.closeFuture().addListener(f -> release(peer));
    if (child instanceof EpollSocketChannel socket) {
      child.pipeline().addFirst(new AbandonedTries(socket, abandoned));
    }
    return true;
  }

  private void release(InetAddress peer) {
    open.decrementAndGet();
    if (peer != null) {
      byAddress.computeIfPresent(peer, (k, n) -> n == 1 ? null : n - 1);
    }
  }

  /** At most one warning in 10 s, with the count refused so far: a flood must not flood the log. */
  private void warn(InetAddress peer, boolean total) {
    if (warnings.due()) {
      log.warn("security: refusing connections ({} so far): {}", refused.get(), total
          ? settings.total() + " connections open (maxConnections)"
          : settings.perAddress() + " connections open from " + peer.getHostAddress() + " (maxConnectionsPerAddress)");
    }
  }

  /**
   * The "address" a cap counts: the IPv4 address, or the /64 of an IPv6 address (one host usually
   * holds a whole /64, so counting single IPv6 addresses would cap nothing).
   */
  static InetAddress peer(InetAddress a) {
    if (a instanceof java.net.Inet6Address && !a.isLoopbackAddress()) {
      byte[] b = a.getAddress();
      java.util.Arrays.fill(b, 8, 16, (byte) 0);
      try {
        return InetAddress.getByAddress(b);
      } catch (java.net.UnknownHostException e) {
        return a;
      }
    }
    return a;
  }

}
