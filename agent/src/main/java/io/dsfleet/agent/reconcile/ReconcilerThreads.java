package io.dsfleet.agent.reconcile;

import io.dsfleet.common.DaemonThreads;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The reconciler's threads ({@link Reconciler}).
 *
 * @param pods pod workers (a pod's work at a time on each, as many as pods have work under way)
 * @param probes probe runs
 * @param stoppers the stops of one pod, in parallel
 * @param gc garbage collection (one at a time)
 * @param pressure the disk pressure check (one at a time): off the collector's thread, since
 *     Docker walks every container's layer to say what they hold (a container that made
 *     millions of files in its own file system makes that long: the call waits up to 10
 *     minutes), and every pod's sizeLimit measurement queued behind it on the collector, each
 *     holding its pod's work back
 */
public record ReconcilerThreads(ExecutorService pods, ExecutorService probes, ExecutorService stoppers, ExecutorService gc,
    ExecutorService pressure) {
  /** The disk pressure check on the collector's thread (tests whose collector runs each piece of work at once). */
  public ReconcilerThreads(ExecutorService pods, ExecutorService probes, ExecutorService stoppers, ExecutorService gc) {
    this(pods, probes, stoppers, gc, gc);
  }

  /** Probes running at once at most, a quarter of them one pod's ({@link ProbeManager}). */
  static final int MAX_PROBES_AT_ONCE = 32;

  /** Pod workers at once at most: a host runs a pod per DaemonSet (the coordinator keeps 256 a node's reports). */
  static final int MAX_POD_WORKERS = 256;

  /** Daemon threads of the sizes the agent uses. */
  public static ReconcilerThreads standard() {
    return new ReconcilerThreads(podWorkers(), probers(), Executors.newCachedThreadPool(DaemonThreads.named("container-stop")),
        Executors.newSingleThreadExecutor(DaemonThreads.named("container-gc")),
        Executors.newSingleThreadExecutor(DaemonThreads.named("disk-pressure")));
  }

  /**
   * Pod workers: a thread for each pod whose work is under way (the kubelet's worker per pod), up
   * to {@link #MAX_POD_WORKERS}; threads idle for 10 s end (a pod that runs has no work: a node
   * whose pods run keeps none, and a burst's threads go soon after it). A fixed four once queued every
   * pod's work behind four pods whose own containers held them: a postStart hook that hangs for its
   * 30 s at every start, a preStop hook that hangs and a SIGTERM ignored for the whole grace period
   * of a restart. Work no thread takes is planned again at a later pass.
   */
  static ExecutorService podWorkers() {
    return new java.util.concurrent.ThreadPoolExecutor(0, MAX_POD_WORKERS, 10, TimeUnit.SECONDS,
        new java.util.concurrent.SynchronousQueue<>(), DaemonThreads.named("pod-worker"));
  }

  /**
   * Probe runs: a thread each while it runs, up to {@link #MAX_PROBES_AT_ONCE} (threads idle for a
   * minute end). A fixed four once queued every probe behind four that hung until their timeouts
   * (a container can make its own exec probes hang): one pod's probes could hold every other
   * pod's back. A probe found no thread runs at a later pass. One pod's probes take at most a
   * quarter of the threads: with 32 for all, 34 probes of one pod hanging for the hour its manifest
   * allowed held every thread, and no other pod's probe ran.
   */
  static ExecutorService probers() {
    return new java.util.concurrent.ThreadPoolExecutor(0, MAX_PROBES_AT_ONCE, 60, TimeUnit.SECONDS,
        new java.util.concurrent.SynchronousQueue<>(), DaemonThreads.named("prober"));
  }

  void shutdown() {
    pods.shutdownNow();
    probes.shutdownNow();
    stoppers.shutdownNow();
    gc.shutdownNow();
    pressure.shutdownNow();
  }
}
