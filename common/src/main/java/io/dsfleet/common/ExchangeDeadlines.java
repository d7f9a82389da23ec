package io.dsfleet.common;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A bound on each exchange of the JDK's HTTP server, kept by the executor that runs it
 * ({@link JdkHttpServers#threads}, {@link JdkHttpServers#few}): the thread serving an exchange
 * (reading the request, shaking hands, answering) is interrupted once its deadline passes, which
 * closes the connection's channel under a write or read blocked on a client that takes nothing
 * (the server's channels are interruptible) and ends the exchange there.
 *
 * <p>The JDK's own bound on answers ({@code sun.net.httpserver.maxRspTime}) is one for every answer
 * of the process: at 30 s it cut every watch of the Kubernetes API at 25 s (`kubectl get -w` ended
 * there, where Kubernetes' watches last 30-60 minutes). An exchange that streams by design (a watch)
 * now sets its own deadline ({@link #extend}) while every other keeps {@link #DEFAULT}.
 *
 * <p>The interrupt closes the connection's channel behind the server's back: the server still
 * counts the connection among its open ones until the exchange ends with an error, which {@link
 * ExchangeEnds} sees to (each context is made by {@link JdkHttpServers#context}).
 */
public final class ExchangeDeadlines {
  private ExchangeDeadlines() {}

  /** An exchange's bound unless it sets another: the request's 10 s and its answer's 30 s the JDK's bounds gave it before. */
  public static final Duration DEFAULT = Duration.ofSeconds(40);

  /** One timer for every server of the process; its thread ends after 30 s without a deadline to keep. */
  private static final ScheduledThreadPoolExecutor TIMER = timer();

  private static ScheduledThreadPoolExecutor timer() {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("http-deadlines"));
    t.setRemoveOnCancelPolicy(true);
    t.setKeepAliveTime(30, TimeUnit.SECONDS);
    t.allowCoreThreadTimeOut(true);
    return t;
  }

  private static final ThreadLocal<Exchange> CURRENT = new ThreadLocal<>();

  /** The exchange a thread serves, with its deadline. */
  static final class Exchange {
    private final Thread thread;
    private ScheduledFuture<?> due;
    private boolean ended;
    private boolean interrupted;

    private Exchange(Thread thread) {
      this.thread = thread;
    }

    private synchronized void due(Duration in) {
      if (ended) {
        return;
      }
      if (due != null) {
        due.cancel(false);
      }
      due = TIMER.schedule(this::expire, Math.max(0, in.toNanos()), TimeUnit.NANOSECONDS);
    }

    private synchronized void expire() {
      if (!ended && !interrupted) {
        interrupted = true;
        thread.interrupt(); // under the lock: once end() has returned, no interrupt of this exchange reaches the thread
      }
    }

    /** Ends the deadline: no interrupt for it reaches the thread after this returns; whether it cut the exchange. */
    private synchronized boolean end() {
      ended = true;
      if (due != null) {
        due.cancel(false);
      }
      return interrupted;
    }
  }

  /**
   * Ends the deadline of the exchange the current thread serves, as its handler returns; whether
   * the deadline cut it ({@link ExchangeEnds} then ends it with an error). No interrupt of it
   * reaches the thread after this.
   */
  static boolean endCurrent() {
    Exchange e = CURRENT.get();
    return e != null && e.end();
  }

  /** Starts the deadline of the exchange the current thread is about to serve. */
  static void begin(Duration bound) {
    Exchange e = new Exchange(Thread.currentThread());
    CURRENT.set(e);
    e.due(bound);
  }

  /**
   * Ends it. An interrupt its deadline made is not left to the thread's next exchange: none comes
   * after this, and a pool's worker clears its thread's interrupt before each task.
   */
  static void end() {
    Exchange e = CURRENT.get();
    CURRENT.remove();
    if (e != null) {
      e.end();
    }
  }

  /**
   * The exchange the current thread serves may go on for {@code from now} more (replacing what it
   * had); nothing outside an exchange of these executors. A stream sets it before each write it
   * must not wait on for ever, and for its whole length between.
   */
  public static void extend(Duration fromNow) {
    Exchange e = CURRENT.get();
    if (e != null) {
      e.due(fromNow);
    }
  }
}
