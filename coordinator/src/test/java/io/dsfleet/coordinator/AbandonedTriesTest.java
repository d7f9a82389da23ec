package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A connection whose client left while it waited for a busy transport thread: its bytes never
 * reach the handlers behind (gRPC's TLS handshake), and its slot of the cap is freed. The
 * transport thread is held busy by a task of the test, as a reconnect storm holds it.
 */
class AbandonedTriesTest {
  private final ConnectionLimits limits = new ConnectionLimits(new ConnectionLimits.Settings(100, 100, Duration.ofSeconds(20)));
  private final List<String> reachedHandlers = new CopyOnWriteArrayList<>();
  private EventLoopGroup boss;
  private EventLoopGroup worker;
  private Channel server;

  @BeforeEach
  void serve() throws Exception {
    Assumptions.assumeTrue(ConnectionLimits.EPOLL, "skipped: the check reads Linux's TCP_INFO through Netty's epoll transport, not loaded here");
    boss = ConnectionLimits.eventLoops(1, r -> new Thread(r, "test-accept"));
    worker = ConnectionLimits.eventLoops(1, r -> new Thread(r, "test-io"));
    server = new ServerBootstrap().group(boss, worker).channelFactory(() -> (ServerChannel) limits.newServerChannel())
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                reachedHandlers.add(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                ReferenceCountUtil.release(msg);
              }
            });
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close().syncUninterruptibly();
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      worker.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void aClientThatLeftBeforeItsFirstReadIsClosedWithoutItsBytesReachingTheHandshake() throws Exception {
    CountDownLatch busy = new CountDownLatch(1);
    worker.next().execute(() -> {
      try {
        busy.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    try (Socket gone = new Socket("127.0.0.1", port)) {
      gone.getOutputStream().write("hello from a client that gives up".getBytes(StandardCharsets.US_ASCII));
    }
    // accepted and waiting for the busy thread, or closed at its accept if its close came first
    await().atMost(Duration.ofSeconds(10)).until(() -> limits.open() + limits.abandoned() == 1);
    try (Socket staying = new Socket("127.0.0.1", port)) {
      OutputStream out = staying.getOutputStream();
      out.write("hello from a client that waits".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(Duration.ofSeconds(10)).until(() -> limits.open() + limits.abandoned() == 2);
      busy.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> reachedHandlers.contains("hello from a client that waits") && limits.open() == 1);
      assertThat(reachedHandlers).as("bytes that reached the handshake").containsExactly("hello from a client that waits");
    }
    assertThat(limits.abandoned()).as("connections closed at their first read, their client gone").isEqualTo(1);
    await().atMost(Duration.ofSeconds(10)).until(() -> limits.open() == 0);
  }

  @Test
  void aClientThatLeftBeforeItsAcceptIsClosedThereUncounted() throws Exception {
    CountDownLatch busy = new CountDownLatch(1);
    CountDownLatch held = new CountDownLatch(1);
    boss.next().execute(() -> { // the accepting thread busy: the connection waits in the kernel's queue
      held.countDown();
      try {
        busy.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    // the thread held before the connect: until 2026-12-08 the test connected once the task was queued, and where the
    // loop took the connection first (ci-85, ci-87) it was accepted before its client left, never an abandoned try
    assertThat(held.await(30, TimeUnit.SECONDS)).as("the accepting thread held").isTrue();
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    Socket tried = new Socket("127.0.0.1", port); // an agent's plain connect: does the port listen?
    int from = tried.getLocalPort();
    tried.close();
    // its close reached the server's socket: the client's end waits in FIN_WAIT2 once the server's kernel took the FIN
    await().atMost(Duration.ofSeconds(30)).until(() -> finWait2(from, port));
    busy.countDown();
    await().atMost(Duration.ofSeconds(30)).until(() -> limits.abandoned() == 1);
    assertThat(limits.open()).as("connections counted against the cap").isZero();
    assertThat(limits.refused()).isZero();
  }

  /** Whether the connection from local port {@code from} to port {@code to} on the loopback is in FIN_WAIT2 (/proc/net/tcp's state 05). */
  private static boolean finWait2(int from, int to) throws java.io.IOException {
    java.util.regex.Pattern line = java.util.regex.Pattern.compile(String.format(":%04X\\s+\\S+:%04X\\s+05\\s", from, to));
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      if (java.nio.file.Files.readAllLines(java.nio.file.Path.of(table)).stream().anyMatch(l -> line.matcher(l).find())) {
        return true;
      }
    }
    return false;
  }
}
