package io.dsfleet.coordinator.kubeapi;

import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogsRequest;
import io.grpc.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * `kubectl logs -f`: a pod's log followed through its agent, as dsctl logs -f follows it (the same
 * relay, counted against the credential's followed streams on the node), written to the answer as
 * its lines come. It holds one of the API's stream slots ({@link WatchSlots}: watches and followed
 * logs, 16 in all, 6 per credential, 12 of viewers' together) and lasts until the pod's log ends, the client leaves, its
 * credential is revoked, or {@link KubeWatch#WINDOW} (kubectl then exits; dsctl logs -f follows
 * without end). A client that leaves is noticed at the next line written to it, or, on a quiet log,
 * within {@link KubeWatch#PROBE_MILLIS} from the kernel's table of connections ({@link
 * io.dsfleet.coordinator.http.TcpPeers}): the JDK's server reads nothing of the connection
 * meanwhile, and until 2026-12-06 (evening) a client that left a quiet log (kubectl logs -f ended with
 * Ctrl-C) held the slot, and its follow on the agent, until a line came or the window ended. Until
 * 2026-12-06 it was refused: the JDK's server cut every answer at 30 s.
 */
final class KubeLogFollow implements LogRelay.Reader {
  /**
   * Lines the relay hands over before the answer's writes take them, as {@link LogRelay#heapBytes}
   * counts them; beyond, the relay keeps them (and drops a reader too slow, past its own 4 MiB).
   * Until 2026-12-06 it was 1,000 lines of any length: with an agent's lines of 16,384 characters
   * (its cut), 16-32 MiB for each of the API's 16 streams whose client read slowly, and a node's
   * lines of 4 MiB (a message's bound) 4 GiB.
   */
  static final long MAX_QUEUED_BYTES = 256 << 10;
  /** How long the answer waits for a line before it looks again (whether the credential still holds, the window). */
  private static final long LOOK_MILLIS = 5000;

  private final ArrayDeque<String> lines = new ArrayDeque<>();
  /** What {@link #lines} hold, as {@link LogRelay#heapBytes} counts it. */
  private long queuedBytes;
  private boolean ended;
  private boolean revoked;
  private String failure;

  @Override
  public synchronized boolean isReady() {
    return !ended && queuedBytes < MAX_QUEUED_BYTES;
  }

  @Override
  public synchronized void onNext(LogLine line) {
    lines.add(line.getLine());
    queuedBytes += LogRelay.heapBytes(line.getLine());
    notifyAll();
  }

  @Override
  public synchronized void onCompleted() {
    ended = true;
    notifyAll();
  }

  @Override
  public synchronized void onError(Status status) {
    failure = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
    ended = true;
    notifyAll();
  }

  /** The credential was revoked: nothing more is written. */
  private synchronized void revoke() {
    revoked = true;
    ended = true;
    notifyAll();
  }

  /** The lines that came, waiting up to {@code millis} for one; none once the stream ended and was read. */
  private synchronized List<String> next(long millis) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (lines.isEmpty() && !ended) {
      long left = until - System.nanoTime();
      if (left <= 0) {
        break;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    if (revoked) {
      return List.of();
    }
    List<String> out = new ArrayList<>(lines);
    lines.clear();
    queuedBytes = 0;
    return out;
  }

  private synchronized boolean over() {
    return ended && (revoked || lines.isEmpty());
  }

  /**
   * Follows {@code req} for the answer {@code x}: the caller found the pod and checked the
   * request; a refusal (no slot, the credential's followed streams on the node, no such pod on a
   * connected node) is thrown before anything is written.
   *
   * @param onRevoke runs a runnable when the credential is revoked, until the runnable it returns runs
   * @param limitBytes the most bytes written (kubectl's --limit-bytes), 0 for no limit
   */
  static void serve(HttpExchange x, Fleet f, LogRelay logs, LogsRequest req, KubeWatch streams, String credential,
      Function<Runnable, Runnable> onRevoke, long limitBytes) throws IOException, InterruptedException {
    io.dsfleet.coordinator.http.Turns.Turn slot = streams.slot(credential);
    if (slot == null) {
      x.getResponseHeaders().set("Retry-After", "5");
      KubeApi.send(x, KubeObjects.status(429, "TooManyRequests", WatchSlots.refusal()));
      return;
    }
    KubeLogFollow follower = new KubeLogFollow();
    Runnable unwatch = () -> { };
    LogRelay.Relay relay = null;
    try {
      relay = logs.start(f, req.toBuilder().setFollow(true).build(), credential, follower);
      unwatch = onRevoke.apply(follower::revoke);
      long end = System.nanoTime() + KubeWatch.WINDOW.toNanos();
      x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      x.getResponseHeaders().set("Cache-Control", "no-store");
      io.dsfleet.common.ExchangeDeadlines.extend(streams.writeBound());
      x.sendResponseHeaders(200, 0);
      OutputStream bounded = new BoundedWrites(x.getResponseBody(), streams.writeBound(),
          () -> java.time.Duration.ofNanos(Math.max(0, end - System.nanoTime())));
      KubeLogs.Limited body = new KubeLogs.Limited(bounded, limitBytes == 0 ? Long.MAX_VALUE : limitBytes);
      Writer out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(body, StandardCharsets.UTF_8));
      long looked = streams.millis(); // the last line written, or the last look at the client
      io.dsfleet.coordinator.http.TcpPeers.Look client = new io.dsfleet.coordinator.http.TcpPeers.Look(x.getLocalAddress(),
          x.getRemoteAddress());
      while (body.left > 0 && !follower.over()) {
        long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
        if (left <= 0) {
          break;
        }
        List<String> batch = follower.next(Math.min(left, Math.min(LOOK_MILLIS, streams.probeMillis())));
        for (int i = 0; i < batch.size() && body.left > 0; i++) {
          out.write(batch.get(i));
          out.write('\n');
        }
        out.flush();
        relay.drain(); // what the relay kept while this took no more
        if (!batch.isEmpty()) {
          looked = streams.millis();
        } else if (streams.millis() - looked >= streams.probeMillis()) {
          if (client.gone()) {
            break; // the client left a quiet log: nothing to write that would tell
          }
          looked = streams.millis();
        }
      }
      String failure;
      synchronized (follower) {
        failure = follower.revoked ? null : follower.failure;
      }
      if (failure != null && body.left > 0) {
        out.write("[ds-coordinator: the log's stream ended: " + failure + "]\n");
      }
      out.flush();
    } finally {
      if (relay != null) {
        relay.cancel(); // the agents stop sending
      }
      unwatch.run();
      slot.close();
    }
  }
}
