package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Exchanges whose answer broke, and whose handler caught the error and returned (as the
 * dashboard's log streams and client_java's scrape handler do), or which were never answered, no
 * longer count among the JDK server's open connections: with a cap of three, three such exchanges then a plain request is
 * answered. Before, the server counted each until its own bound on answers (35 minutes since
 * 2026-12-06) and closed every new connection at accept. Each runs in a process of its own: the
 * JDK's server reads its cap once per JVM.
 */
class ExchangeEndsTest {
  private static String run(String how) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djdk.httpserver.maxConnections=3", "-cp", System.getProperty("java.class.path"), BreakThrice.class.getName(), how)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  /** Answers cut at their deadline, their clients reading nothing. */
  @Test
  void exchangesCutAtTheirDeadlineLeaveTheServersConnectionCap() throws Exception {
    assertThat(run("cut")).as("three answers cut, then a request on a fourth connection").contains("broke 3")
        .contains("answered: HTTP/1.1 200");
  }

  /** Answers whose clients went away in the middle (a log page closed, a scrape timed out). */
  @Test
  void exchangesWhoseClientWentAwayLeaveTheServersConnectionCap() throws Exception {
    assertThat(run("gone")).as("three clients gone, then a request on a fourth connection").contains("broke 3")
        .contains("answered: HTTP/1.1 200");
  }

  /** Exchanges whose handler returned without answering (a watch of a coordinator that stopped leading). */
  @Test
  void exchangesLeftUnansweredLeaveTheServersConnectionCap() throws Exception {
    assertThat(run("unanswered")).as("three left unanswered, then a request on a fourth connection").contains("broke 3")
        .contains("answered: HTTP/1.1 200");
  }

  private static Socket get(int port, String path) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setReceiveBufferSize(4096);
    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    return s;
  }

  /** Three answers broken as {@code args[0]} says ("cut", "gone", "unanswered"), then a plain request: what it was answered. */
  public static final class BreakThrice {
    static final long CUT_MILLIS = 500;

    public static void main(String[] args) throws Exception {
      boolean cut = args[0].equals("cut");
      Semaphore broke = new Semaphore(0);
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
      server.setExecutor(JdkHttpServers.threads("break-thrice", Duration.ofMinutes(5)));
      JdkHttpServers.context(server, "/", x -> {
        try (x) {
          if (x.getRequestURI().getPath().equals("/unanswered")) {
            broke.release(); // returns without an answer
          } else if (x.getRequestURI().getPath().equals("/stream")) {
            try {
              if (cut) { // counted from here: a deadline counted from the exchange's start can come, on a loaded machine,
                // before the handler runs (the exchange then cut where no handler counts it: one CI rehearsal failed so)
                ExchangeDeadlines.extend(Duration.ofMillis(CUT_MILLIS));
              }
              x.sendResponseHeaders(200, 0); // the deadline may come before the headers are out: it breaks the exchange there too
              byte[] chunk = new byte[64 * 1024];
              for (int i = 0; i < 4096; i++) {
                x.getResponseBody().write(chunk);
              }
            } catch (IOException gone) {
              broke.release(); // caught, as a stream whose reader went away
            }
          } else {
            byte[] ok = "ok\n".getBytes(StandardCharsets.US_ASCII);
            x.sendResponseHeaders(200, ok.length);
            x.getResponseBody().write(ok);
          }
        }
      });
      server.start();
      int port = server.getAddress().getPort();
      for (int i = 0; i < 3; i++) {
        try (Socket s = get(port, args[0].equals("unanswered") ? "/unanswered" : "/stream")) {
          if (args[0].equals("gone")) {
            s.getInputStream().readNBytes(1024); // the answer began
            s.setSoLinger(true, 0);
            s.close(); // then the client goes, its connection reset
          }
          if (!broke.tryAcquire(20, TimeUnit.SECONDS)) { // cut: the deadline ended the write; gone: the reset did; or no answer
            System.out.println("not broken");
            System.exit(1);
          }
        }
      }
      System.out.println("broke 3");
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      String answer = "refused: closed at accept";
      while (System.nanoTime() < until && !answer.startsWith("HTTP/1.1 200")) {
        try (Socket s = get(port, "/ok")) {
          s.setSoTimeout(5000);
          String line = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
          answer = line == null ? "refused: closed at accept" : line;
        } catch (IOException e) {
          answer = "refused: " + e;
        }
        if (!answer.startsWith("HTTP/1.1 200")) {
          Thread.sleep(100); // the server forgets a broken exchange's connection as its thread ends it
        }
      }
      System.out.println("answered: " + answer);
      System.exit(0);
    }
  }
}
