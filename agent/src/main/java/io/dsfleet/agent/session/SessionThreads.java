package io.dsfleet.agent.session;

import io.dsfleet.common.DaemonThreads;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** The session's own threads ({@link CoordinatorSession}), beside the scheduler's: each only while it has work. */
final class SessionThreads {
  /**
   * Work that may wait long for Docker or the coordinator (a renewal: 10 s; the removal of every
   * pod): never on the scheduler, whose two threads send the heartbeats. Threads only while there
   * is such work.
   */
  final ThreadPoolExecutor work = pool(2, "agent-session-work");
  /**
   * The log requests' own threads: each may wait 2 minutes for a hung Docker, and up to
   * {@link LogRequests#MAX_PENDING} may wait for a thread; a renewal or the node's removal never
   * waits behind them.
   */
  final ThreadPoolExecutor logs = pool(4, "agent-log-requests");

  /** Interrupts what runs on them; no thread takes work after it. */
  void shutdownNow() {
    work.shutdownNow();
    logs.shutdownNow();
  }

  private static ThreadPoolExecutor pool(int threads, String name) {
    ThreadPoolExecutor p = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), DaemonThreads.named(name));
    p.allowCoreThreadTimeOut(true);
    return p;
  }
}
