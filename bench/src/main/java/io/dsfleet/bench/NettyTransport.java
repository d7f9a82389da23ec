package io.dsfleet.bench;

import io.dsfleet.agent.session.Transport;
import io.dsfleet.common.Reconnects;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettySslContextChannelCredentials;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509TrustManager;

/**
 * The simulated agents' transport: Netty's event loops serve thousands of connections of one JVM
 * on a few threads, where the agent's OkHttp transport takes a thread a connection. Everything
 * above the transport (the session, its calls, TLS with the same keys and trust, the server's name
 * checked through the channel's authority) is the agent's.
 */
final class NettyTransport implements Transport {
  static final Transport INSTANCE = new NettyTransport();

  @Override
  public ManagedChannelBuilder<?> channel(String target, ChannelCredentials credentials) {
    return NettyChannelBuilder.forTarget(target, credentials)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
        .keepAliveTime(KEEPALIVE.toSeconds(), TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
        .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Reconnects.CONNECT_TIMEOUT.toMillis());
  }

  @Override
  public ChannelCredentials tls(String serverName, KeyManager key, X509TrustManager trust) {
    try {
      SslContextBuilder b = GrpcSslContexts.forClient().trustManager(trust);
      if (key != null) {
        b.keyManager(key);
      }
      return NettySslContextChannelCredentials.create(b.build());
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS with the fleet CA: " + e.getMessage(), e);
    }
  }
}
