package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.SelectStrategy;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class GatheredWakeupsTest {
  private static final long MS = 1_000_000L;

  /**
   * A clock the test moves and a sleep that records what it was asked for; a look right after a
   * sleep finds {@code gatheredPerSleep} sockets ready (what arrived meanwhile).
   */
  private static final class Loop {
    long now = 1_000 * MS;
    final List<Long> slept = new ArrayList<>();
    int looked;
    int gatheredPerSleep = 3;
    private boolean justSlept;
    final GatheredWakeups strategy = new GatheredWakeups(Duration.ofMillis(10), 200, () -> now, nanos -> {
      slept.add(nanos);
      justSlept = true;
    });

    int wake(int ready, boolean hasTasks) throws Exception {
      return strategy.calculateStrategy(() -> {
        looked++;
        int n = justSlept ? gatheredPerSleep : ready;
        justSlept = false;
        return n;
      }, hasTasks);
    }

    /** {@code n} wake-ups with nothing ready, spread over {@code millis}. */
    void wakeups(int n, long millis) throws Exception {
      long start = now;
      for (int i = 0; i < n; i++) {
        wake(0, false);
        now = start + (i + 1) * millis * MS / n;
      }
    }
  }

  @Test
  void aLoopThatWakesRarelyWaitsAsNettyDoes() throws Exception {
    Loop loop = new Loop();
    loop.wakeups(150, 1000);
    assertThat(loop.wake(0, false)).isEqualTo(SelectStrategy.SELECT);
    assertThat(loop.strategy.busy()).isFalse();
    assertThat(loop.slept).isEmpty();
    assertThat(loop.looked).as("an idle loop does not look before it waits").isZero();
  }

  @Test
  void aBusyLoopLooksFirstAndSleepsAGatherOnlyWhenNothingIsReady() throws Exception {
    Loop loop = new Loop();
    loop.wakeups(250, 1000);
    assertThat(loop.wake(3, false)).as("ready sockets are handled at once").isEqualTo(3);
    assertThat(loop.strategy.busy()).isTrue();
    assertThat(loop.slept).isEmpty();
    assertThat(loop.wake(0, false)).as("what the sleep gathered, handled at once").isEqualTo(3);
    assertThat(loop.slept).containsExactly(10 * MS);
    loop.gatheredPerSleep = 0;
    assertThat(loop.wake(0, false)).as("nothing gathered: it waits as Netty does").isEqualTo(SelectStrategy.SELECT);
  }

  /**
   * One client that asks and waits for each answer wakes the thread hundreds of times a second,
   * but a sleep gathers nothing for it, only delays it: the spell ends after a second and is not
   * tried again for 2 s, then 4 s (the suite's own calls were 10 ms slower each).
   */
  @Test
  void aBusySpellWhoseSleepsGatherNothingEndsAndIsTriedAgainLater() throws Exception {
    Loop loop = new Loop();
    loop.gatheredPerSleep = 1;
    loop.wakeups(250, 1000); // counted: busy from here
    loop.wakeups(90, 1000); // a sleep each, one socket each: not worth it
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isFalse();
    int slept = loop.slept.size();
    loop.wakeups(300, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).as("2 s not yet over").isFalse();
    loop.wakeups(300, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).as("tried again after 2 s").isTrue();
    assertThat(loop.slept).as("no sleep in the 2 s, one as it is tried again").hasSize(slept + 1);
    loop.wakeups(90, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isFalse();
    loop.wakeups(300, 1000);
    loop.wakeups(300, 1000);
    loop.wakeups(300, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).as("4 s this time").isFalse();
    loop.wakeups(300, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isTrue();
  }

  @Test
  void tasksAreNeverKeptWaiting() throws Exception {
    Loop loop = new Loop();
    loop.wakeups(250, 1000);
    assertThat(loop.wake(0, true)).isZero();
    assertThat(loop.wake(2, true)).isEqualTo(2);
    assertThat(loop.slept).isEmpty();
  }

  @Test
  void aBusyLoopStaysBusyWhileItWakesAtHalfTheGatherRateAndNoLonger() throws Exception {
    Loop loop = new Loop();
    loop.wakeups(250, 1000);
    loop.wakeups(60, 1000); // busy: at most 100 wake-ups a second with a 10 ms gather; 60 is more than half
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isTrue();
    loop.wakeups(40, 1000);
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isFalse();
  }

  @Test
  void wakeUpsAreCountedPerSecondOverALongWait() throws Exception {
    Loop loop = new Loop();
    loop.wakeups(300, 10_000); // 300 wake-ups, but over ten seconds
    loop.wake(0, false);
    assertThat(loop.strategy.busy()).isFalse();
  }

  @Test
  void settingsOutsideTheirRangeAreRefused() {
    assertThatThrownBy(() -> GatheredWakeups.factory(Duration.ZERO, 200)).hasMessageContaining("gather of 1 to 100 ms");
    assertThatThrownBy(() -> GatheredWakeups.factory(Duration.ofSeconds(1), 200)).hasMessageContaining("gather of 1 to 100 ms");
    assertThatThrownBy(() -> GatheredWakeups.factory(Duration.ofMillis(10), 1)).hasMessageContaining("wake-ups");
  }

  @Test
  void theGatherPropertyIsReadInMillisecondsAndABadValueNamesIt() {
    assertThat(ConnectionLimits.gather("10")).isEqualTo(Duration.ofMillis(10));
    assertThat(ConnectionLimits.gather("0")).as("0 turns gathering off").isZero();
    for (String bad : List.of("101", "-1", "10ms", "")) {
      assertThatThrownBy(() -> ConnectionLimits.gather(bad)).hasMessageContaining("-Ddsfleet.transport.gatherMillis must be 0 (off) to 100")
          .hasMessageContaining("'" + bad + "'");
    }
  }

  /**
   * On Netty's real epoll loop: a client that sends a byte every 2 ms makes the loop busy; it
   * sleeps before it waits (until its spell is found to gather nothing for one client asking in
   * turn), every byte is still echoed, in order, and a task
   * handed to the loop from another thread (as the session worker and the call threads hand it
   * their answers) runs, whether or not the loop was asleep.
   */
  @Test
  void aRealEpollLoopGathersAndLosesNothing() throws Exception {
    Assumptions.assumeTrue(Epoll.isAvailable(), "Netty's native epoll does not load on this machine");
    AtomicInteger sleeps = new AtomicInteger();
    AtomicInteger handledAtOnce = new AtomicInteger();
    EpollEventLoopGroup loops = new EpollEventLoopGroup(1, (java.util.concurrent.ThreadFactory) r -> new Thread(r, "gather-test"), () -> {
      GatheredWakeups gathering = new GatheredWakeups(Duration.ofMillis(5), 150, System::nanoTime, nanos -> {
        sleeps.incrementAndGet();
        LockSupport.parkNanos(nanos);
      });
      return (ready, hasTasks) -> {
        int n = gathering.calculateStrategy(ready, hasTasks);
        if (n > 0) {
          handledAtOnce.incrementAndGet();
        }
        return n;
      };
    });
    int tasks = 0;
    java.util.concurrent.CountDownLatch ran = new java.util.concurrent.CountDownLatch(500);
    try {
      Channel server = new ServerBootstrap().group(loops).channel(EpollServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  ctx.writeAndFlush((ByteBuf) msg);
                }
              });
            }
          }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      int port = ((InetSocketAddress) server.localAddress()).getPort();
      try (Socket client = new Socket("127.0.0.1", port)) {
        client.setTcpNoDelay(true);
        client.setSoTimeout(5000); // a byte lost fails the test here, not at the suite's time limit
        OutputStream out = client.getOutputStream();
        InputStream in = client.getInputStream();
        for (int i = 0; i < 1000; i++) { // about 2 s: a first second to count, then busy
          out.write(i & 0x7f);
          assertThat(in.read()).isEqualTo(i & 0x7f);
          if (i >= 500) { // busy by now: the task often lands while the loop sleeps
            loops.next().execute(ran::countDown);
            tasks++;
          }
          LockSupport.parkNanos(2 * MS);
        }
      }
      server.close().sync();
      assertThat(ran.await(5, java.util.concurrent.TimeUnit.SECONDS)).as("every task handed to the loop ran").isTrue();
    } finally {
      loops.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
    }
    assertThat(tasks).isEqualTo(500);
    assertThat(sleeps.get()).as("the loop, woken hundreds of times a second, gathered").isPositive();
    assertThat(handledAtOnce.get()).as("sockets found ready when the busy loop looked were handled without a sleep").isPositive();
  }
}
