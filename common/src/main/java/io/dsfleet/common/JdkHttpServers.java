package io.dsfleet.common;

import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Bounds for the JDK's HTTP server ({@code com.sun.net.httpserver}), which serves the daemons'
 * metrics, the coordinator's dashboard and its Kubernetes API.
 *
 * <p>That server reads a request, and shakes hands for HTTPS, on a thread of its executor from the
 * first byte a connection sends until the request is read: a client that sends one byte of a
 * request (or of a TLS ClientHello) and nothing more holds a thread until the request bound below
 * cuts it off. With a fixed pool, as many such connections as threads (16 to 32 here before
 * 2026-12-05) kept every other client waiting 10-15 s, again and again for as long as the sender
 * opened new ones. {@link #threads} makes a thread for each connection being read, up to the
 * connection cap and {@link #MAX_THREADS}: a stalled connection holds only its own thread, and a
 * sender has to hold that many connections to keep others out; the servers still answer their
 * known callers a few at a time, as the fixed pools did.
 */
public final class JdkHttpServers {
  private JdkHttpServers() {}

  /**
   * The JDK's bound on any answer of the process: above the longest an exchange may set itself
   * ({@link ExchangeDeadlines#extend}: a watch of the Kubernetes API, 30 minutes and its last
   * writes). Each exchange's own deadline is what bounds it ({@link ExchangeDeadlines}).
   */
  public static final java.time.Duration MAX_ANSWER = java.time.Duration.ofMinutes(35);

  /** How long a thread with nothing to do lives on before it ends. */
  static final long IDLE_SECONDS = 30;

  /**
   * The JDK's HTTP server waits for a request and its answer without end by default: a client
   * that sends a byte a minute would hold a thread for ever. Bounded here, before the first
   * server is made (the limits are read once per JVM); flags given on the command line win; an
   * answer's own bound is kept by its executor ({@link ExchangeDeadlines}). The
   * server checks the bounds on a timer thread, every second by default: every 5 s here (a slow
   * client is cut off 10-15 s into its request), since each wake of an otherwise idle process
   * costs CPU (on this project's test machine the 1 s timer was a tenth of an idle agent's).
   * Nor does it cap its connections: idle ones each held a file descriptor for those 10-15 s, and
   * a flood of them took every descriptor of the process (the gRPC port then accepted nothing).
   * Each server now closes a connection at accept beyond {@link #connectionCap}.
   */
  public static void limitClients() {
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "10");
    }
    if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
      // every answer's own bound is its executor's (ExchangeDeadlines: 40 s, a watch its own); this
      // one, for the process, stays as an outer net above the longest watch
      System.setProperty("sun.net.httpserver.maxRspTime", String.valueOf(MAX_ANSWER.toSeconds()));
    }
    if (System.getProperty("sun.net.httpserver.timerMillis") == null) {
      System.setProperty("sun.net.httpserver.timerMillis", "5000");
    }
    if (System.getProperty("jdk.httpserver.maxConnections") == null) {
      System.setProperty("jdk.httpserver.maxConnections", String.valueOf(connectionCap(FileDescriptors.limit())));
    }
  }

  /**
   * Open connections one HTTP server (the Kubernetes API, the dashboard, metrics) keeps: a
   * sixteenth of the file-descriptor limit, 16 to 1,024, so the three of a coordinator stay within
   * the half its gRPC connections leave.
   */
  public static int connectionCap(long fileDescriptorLimit) {
    return (int) Math.max(16, Math.min(1024, fileDescriptorLimit / 16));
  }

  /**
   * A server's executor: an idle thread takes the next connection to
   * read, else a new thread does, up to the server's connection cap and {@link #MAX_THREADS};
   * threads idle for 30 s end, so
   * an idle daemon keeps none. Beyond the cap (only while closed connections' threads are still
   * finishing) the server closes the connection, as it does for a refused task.
   */
  public static ExecutorService threads(String name) {
    return threads(name, ExchangeDeadlines.DEFAULT);
  }

  /** {@link #threads(String)}, each exchange bounded by {@code bound} unless it sets another (a test's). */
  public static ExecutorService threads(String name, java.time.Duration bound) {
    limitClients();
    int cap = Math.min(MAX_THREADS, Integer.getInteger("jdk.httpserver.maxConnections", connectionCap(FileDescriptors.limit())));
    return new Bounded(0, Math.max(1, cap), new SynchronousQueue<>(), name, bound);
  }

  /**
   * A pool whose every task is an exchange of the JDK's server, bounded by its deadline
   * ({@link ExchangeDeadlines}): begun as the task starts on its thread, ended as it ends.
   */
  private static final class Bounded extends ThreadPoolExecutor {
    private final java.time.Duration bound;

    Bounded(int core, int max, java.util.concurrent.BlockingQueue<Runnable> queue, String name, java.time.Duration bound) {
      super(core, max, IDLE_SECONDS, TimeUnit.SECONDS, queue, DaemonThreads.named(name));
      this.bound = bound;
    }

    @Override
    protected void beforeExecute(Thread t, Runnable r) {
      ExchangeDeadlines.begin(bound);
    }

    @Override
    protected void afterExecute(Runnable r, Throwable t) {
      ExchangeDeadlines.end();
    }
  }

  /**
   * The most threads {@link #threads} makes: a review's 1,000 stalled TLS handshakes cost the
   * coordinator 1,009 threads, 54 MiB of heap and 240 MB resident; 256 cost a quarter of that, and
   * a sender needs 256 stalled connections to keep others out (32 before).
   */
  static final int MAX_THREADS = 256;

  /**
   * Serves {@code handler} at {@code path} of {@code server}, whose executor is one of these
   * ({@link #threads}, {@link #few}): an exchange whose answer broke (its client went away, its
   * deadline cut it) ends with an error, so the server closes its connection and no longer counts
   * it ({@link ExchangeEnds}). Every context of the daemons' servers is made here.
   */
  public static HttpContext context(HttpServer server, String path, HttpHandler handler) {
    HttpContext context = server.createContext(path, handler);
    context.getFilters().add(ExchangeEnds.FILTER);
    return context;
  }

  /**
   * At most {@code count} threads, made when needed and ended after 30 s idle; connections beyond
   * them wait their turn. Where a thread costs more than a slow client's delay: a stalled
   * connection holds one of them until its request bound.
   */
  public static ExecutorService few(String name, int count) {
    ThreadPoolExecutor pool = new Bounded(count, count, new LinkedBlockingQueue<>(), name, ExchangeDeadlines.DEFAULT);
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }
}
