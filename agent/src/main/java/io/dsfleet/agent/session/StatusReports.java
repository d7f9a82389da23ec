package io.dsfleet.agent.session;

import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The node's pod status up the session (the kubelet's status manager): reports coalesced while
 * their pods settle, and held while the stream takes no more (gRPC's flow control), the latest
 * replacing the one held. Guarded by the session's lock ({@code lock}), which also guards its
 * stream: a report's check of the stream and the stream's onReady handler hold it both.
 */
final class StatusReports {
  /** How long a report in which a pod is still changing by itself waits for the next one. */
  static final long SETTLE_MILLIS = 250;

  private final Object lock;
  private final ScheduledExecutorService scheduler;
  private final Supplier<StreamObserver<AgentMessage>> stream;
  private final BooleanSupplier streamReady;
  private final Consumer<AgentMessage> send;
  /**
   * The latest report not sent yet, or null: it waits for its pods to settle ({@link #settling}
   * set), or, due, for the stream to take more ({@link #settling} null), which the stream's
   * onReady handler sends it the moment it does ({@link #onStreamReady}).
   */
  private List<PodStatus> heldReport;
  /** The version of the desired set the pass that built {@link #heldReport} had taken (its {@code applied_version}). */
  private long heldVersion;
  /** The end of the held report's settle window, while it waits for its pods to settle; else null. */
  private ScheduledFuture<?> settling;

  /**
   * @param lock the session's lock, held by its callers that send on the stream
   * @param stream the session's open stream, or null (read under {@code lock})
   * @param streamReady whether the open stream takes more now; false with none
   * @param send sends on the open stream, if any
   */
  StatusReports(Object lock, ScheduledExecutorService scheduler, Supplier<StreamObserver<AgentMessage>> stream, BooleanSupplier streamReady,
      Consumer<AgentMessage> send) {
    this.lock = lock;
    this.scheduler = scheduler;
    this.stream = stream;
    this.streamReady = streamReady;
    this.send = send;
  }

  /**
   * Sends the full pod status of the node, when connected, coalesced: a report in which some pod
   * is still on its way (being created, started but not yet ready, stopping) waits up to
   * {@link #SETTLE_MILLIS} for the next one, which replaces it; a settled one goes at once. So a
   * pod that goes Pending, Running and Ready within the window is one report, sent when Ready,
   * and no report waits longer than the window. {@code appliedVersion} is the version of the
   * desired set the pass that built it had taken: it goes with these pods, and a newer report
   * replaces both.
   */
  void send(List<PodStatus> pods, long appliedVersion) {
    synchronized (lock) {
      heldReport = pods;
      heldVersion = appliedVersion;
      if (pods.stream().noneMatch(StatusReports::changing)) {
        flushReport();
      } else if (settling == null) {
        settling = scheduler.schedule((Runnable) this::flushReport, SETTLE_MILLIS, TimeUnit.MILLISECONDS);
      }
    }
  }

  /**
   * A session opened: re-report everything, at once and whether or not the stream takes more (the
   * coordinator keeps pod status in memory only, and sends this node nothing before it heard what
   * runs here). The caller holds the session's lock.
   */
  void sendOnOpen(List<PodStatus> pods, long appliedVersion) {
    synchronized (lock) {
      heldReport = pods;
      heldVersion = appliedVersion;
      flushReport(true);
    }
  }

  private void flushReport() {
    synchronized (lock) {
      flushReport(false);
    }
  }

  /**
   * Sends the held report; while the open stream takes no more ({@code evenIfNotReady} false: the
   * coordinator reads no faster than its pace, ReportPacing, or the link is slow) it stays held
   * until the stream's onReady handler says it takes more, and a newer one replaces it: every
   * report is the node's whole status, so one waiting behind others in the stream's buffer was
   * only older. Before 2026-12-06 each went into the buffer, which grew without bound on the
   * agent's heap while its pods changed faster than the coordinator read, and the coordinator
   * heard the latest only after every older one (ReportCoalescingTest); then, until the same day's
   * onReady handler, a held report was looked at again every {@link #SETTLE_MILLIS} by a timer,
   * up to that late (HeldReportOnReadyTest).
   */
  private void flushReport(boolean evenIfNotReady) {
    synchronized (lock) {
      if (settling != null) {
        settling.cancel(false);
        settling = null;
      }
      if (heldReport == null) {
        return;
      }
      if (!evenIfNotReady && stream.get() != null && !streamReady.getAsBoolean()) {
        // the check and the handler both hold the session's lock: a stream ready after the check calls the handler after it
        return;
      }
      send.accept(AgentMessage.newBuilder().setPodStatus(report(heldReport, heldVersion)).build());
      heldReport = null; // a report not sent goes in full with the next session's first message
    }
  }

  /**
   * A full report of {@code pods}: the released ones ({@link PodStatus#getReleased}) in their own
   * field, which a coordinator before 2026-12-06 ignores (among the pods, it would take them for
   * pods of their DaemonSets, count them and send them back desired, adopting them unasked), and
   * the version of the desired set the pass that built it had taken ({@code applied_version},
   * which a coordinator before 2026-12-07 ignores).
   */
  static PodStatusReport report(List<PodStatus> pods, long appliedVersion) {
    PodStatusReport.Builder b = PodStatusReport.newBuilder().setFull(true).setAppliedVersion(appliedVersion);
    for (PodStatus p : pods) {
      if (p.getReleased()) {
        b.addReleasedPods(p);
      } else {
        b.addPods(p);
      }
    }
    return b.build();
  }

  /**
   * The onReady handler of {@code requests}, on gRPC's callback executor: the stream takes more,
   * so a held report that is due goes now; one still in its settle window waits for its end. A
   * stream no longer the session's (ended, replaced by a reconnect's) sends nothing: the new
   * session's first report carries the node's status.
   */
  void onStreamReady(ClientCallStreamObserver<AgentMessage> requests) {
    synchronized (lock) {
      if (stream.get() == requests && settling == null) {
        flushReport(); // looks at isReady again: gRPC may call the handler when the stream is no longer ready
      }
    }
  }

  /** A pod on its way to a state it holds: created and starting, started and not yet ready, stopping. */
  static boolean changing(PodStatus p) {
    return switch (p.getPhase()) {
      case "Pending" -> p.getReason().isEmpty() && p.getContainersList().stream()
          .allMatch(c -> c.getReason().isEmpty() || c.getReason().equals("ContainerCreating") || c.getReason().equals("PodInitializing"));
      case "Running" -> !p.getReady() && p.getContainersList().stream().allMatch(c -> c.getState().equals("running") || c.getInit());
      case "Terminating" -> true;
      default -> false;
    };
  }
}
