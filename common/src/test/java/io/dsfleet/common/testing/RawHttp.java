package io.dsfleet.common.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.1 by hand, for tests of the JDK's HTTP servers that must control how fast (or whether) a
 * client reads: a GET on a socket whose receive buffer is small, and reads of a chunked answer.
 */
public final class RawHttp {
  private RawHttp() {}

  /** The last chunk of a chunked answer: the connection stays open after it (keep-alive). */
  public static final String LAST_CHUNK = "\r\n0\r\n\r\n";

  /** Sends {@code GET path} on a new connection whose receive buffer is 4 KiB (the server's writes block soon when nothing is read). */
  public static Socket get(int port, String path) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setReceiveBufferSize(4096);
    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }

  /** What comes up to and with {@code text}, or up to the connection's end (bytes as Latin-1 characters). */
  public static String until(InputStream in, String text) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c >= 0; c = in.read()) {
      b.append((char) c);
      if (b.indexOf(text) >= 0) {
        break;
      }
    }
    return b.toString();
  }
}
