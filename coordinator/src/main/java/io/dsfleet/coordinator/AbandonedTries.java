package io.dsfleet.coordinator;

import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollTcpInfo;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closes a connection at its first read when its client has already gone, before its bytes (a
 * TLS ClientHello) reach the handshake ({@link ConnectionLimits} closes one gone before it was
 * accepted at its accept, uncounted: an agent's plain connect that tells it the port listens
 * again). In a reconnect storm (a coordinator restarted under thousands of agents) an accepted
 * connection can wait in a busy transport thread's queue longer
 * than its client waits for the handshake; the client closes and tries again later, and the
 * coordinator, reading the hello and the close together, would still answer the hello (a key
 * exchange and a signature) for nobody, and hold a slot of its connection cap meanwhile
 * (docs/benchmarks.md, section 3: 31,370 connections refused at a full cap in one restart).
 * The kernel says whether the peer has closed (TCP_INFO's state: CLOSE_WAIT after its FIN, CLOSE
 * after its reset) for one system call, made once: the handler leaves the pipeline at its first
 * read. No client that waits for its answer half-closes before it (TLS and HTTP/2 never do).
 */
final class AbandonedTries extends ChannelInboundHandlerAdapter {
  /** Linux's TCP states (include/net/tcp_states.h): the peer closed (FIN), or reset the connection. */
  private static final int TCP_CLOSE = 7;
  private static final int TCP_CLOSE_WAIT = 8;

  private final EpollSocketChannel socket;
  private final AtomicLong abandoned;

  AbandonedTries(EpollSocketChannel socket, AtomicLong abandoned) {
    this.socket = socket;
    this.abandoned = abandoned;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ctx.pipeline().remove(this);
    if (gone(socket)) {
      ReferenceCountUtil.release(msg);
      abandoned.incrementAndGet();
      ctx.close();
      return;
    }
    ctx.fireChannelRead(msg);
  }

  /** Whether the peer of {@code socket} has closed (its FIN or its reset arrived). */
  static boolean gone(EpollSocketChannel socket) {
    if (!socket.isOpen()) {
      return true;
    }
    try {
      int state = socket.tcpInfo(new EpollTcpInfo()).state();
      return state == TCP_CLOSE_WAIT || state == TCP_CLOSE;
    } catch (RuntimeException e) { // the socket closed meanwhile: Netty sees that as usual
      return false;
    }
  }
}
