package io.dsfleet.agent;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A proxy on a unix socket of its own in front of the Docker daemon's, for an agent under test
 * (given {@link #dockerHost()}): what {@link DockerCalls} and {@link DockerFaults} share, the
 * socket, the accepting thread and the connections closed with the proxy. What each does with a
 * connection is its own ({@link #accepted}).
 */
public abstract class DockerSocketProxy implements AutoCloseable {
  private final Path socket;
  private final Path docker;
  private final ServerSocketChannel server;
  private final String name;
  /** Every connection of either side, closed with the proxy. */
  private final List<SocketChannel> open = new CopyOnWriteArrayList<>();

  /**
   * Binds {@code socket}; connections are taken once {@link #start} is called (by the subclass's
   * constructor, last: its own fields are set by then).
   */
  protected DockerSocketProxy(Path socket, String dockerHost, String name) throws IOException {
    if (!dockerHost.startsWith("unix://")) {
      throw new IllegalArgumentException(getClass().getSimpleName() + " proxies a unix socket, not " + dockerHost);
    }
    this.socket = socket;
    this.docker = Path.of(dockerHost.substring("unix://".length()));
    this.name = name;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
  }

  protected final void start() {
    daemonThread(this::accept, name).start();
  }

  /** The agent's --docker-host: through this proxy. */
  public String dockerHost() {
    return "unix://" + socket;
  }

  /** A connection the agent opened, on the accepting thread: whatever waits goes on a thread of its own ({@link #daemonThread}). */
  protected abstract void accepted(SocketChannel client) throws IOException;

  /** A new connection to the daemon, closed with the proxy. */
  protected final SocketChannel daemon() throws IOException {
    SocketChannel upstream = SocketChannel.open(UnixDomainSocketAddress.of(docker));
    open.add(upstream);
    return upstream;
  }

  protected static Thread daemonThread(Runnable run, String name) {
    Thread t = new Thread(run, name);
    t.setDaemon(true);
    return t;
  }

  private void accept() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        open.add(client);
        accepted(client);
      } catch (IOException e) {
        if (server.isOpen()) {
          System.err.println(name + ": " + e.getMessage());
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (SocketChannel c : open) {
      c.close();
    }
    Files.deleteIfExists(socket);
  }
}
