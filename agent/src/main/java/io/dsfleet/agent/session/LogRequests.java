package io.dsfleet.agent.session;

import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.LogChunk;
import io.dsfleet.proto.v1.LogRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log requests a session carries (`dsctl logs`, the dashboard's log view): each answered from
 * the runtime in chunks of up to 100 lines, a followed one flushed every 200 ms, until the log
 * ends, the request is cancelled or the session ends. {@link #answer} waits for the runtime: the
 * session runs it off the heartbeats' scheduler.
 */
final class LogRequests {
  private static final Logger log = LoggerFactory.getLogger(LogRequests.class);
  private final String node;
  private final ContainerRuntime runtime;
  private final ScheduledExecutorService scheduler;
  private final Consumer<AgentMessage> send;
  /**
   * Requests taken and not done, at most: waiting for a thread, reading the pod's containers, or
   * streaming a log that is not followed. Any viewer of the fleet may ask for logs, and the
   * coordinator relays every request to the node: beyond this each is answered at once with the
   * reason, not queued on the host (a hung Docker holds every request taken for minutes).
   */
  static final int MAX_PENDING = 32;
  /** Followed streams open at once, at most: each holds a connection to the runtime until cancelled. */
  static final int MAX_FOLLOWS = 32;
  /**
   * About the most bytes of log lines in one chunk: lines of 16,384 characters each up to 3 bytes
   * in UTF-8, 100 to a chunk, once made a chunk over the coordinator's 4 MiB message limit, which
   * ended the node's session and delivered nothing.
   */
  static final long MAX_CHUNK_BYTES = 1 << 20;
  /**
   * Requests by id, from when they are taken: cancelled, or closed when the session ends. A log
   * read whole is here too: cut by the coordinator at its bound or left by its reader, it would
   * otherwise read and send the rest of the log (tens of MiB), holding a place for as long.
   */
  private final Map<String, Taken> taken = new ConcurrentHashMap<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final Semaphore followSlots = new Semaphore(MAX_FOLLOWS);
  /** Moves when a session ends: what was taken before is dropped unanswered (nobody reads the answer). */
  private final AtomicLong sessions = new AtomicLong();

  /** Whether the session's stream takes more now (gRPC's flow control: under its buffer's mark); false with no stream. */
  private final java.util.function.BooleanSupplier ready;
  /** How long a log line waits for the stream to take more before it is left out (counted, and said so in the log). */
  static final java.time.Duration READY_WAIT = java.time.Duration.ofSeconds(30);

  LogRequests(String node, ContainerRuntime runtime, ScheduledExecutorService scheduler, Consumer<AgentMessage> send,
      java.util.function.BooleanSupplier ready) {
    this.node = node;
    this.runtime = runtime;
    this.scheduler = scheduler;
    this.send = send;
    this.ready = ready;
  }

  /**
   * Waits on Docker's reading thread while the coordinator takes no more (a slow link, a busy
   * coordinator): the log stays on the host's disk, where Docker keeps it, not in the agent's heap
   * (each chunk sent regardless once queued up in gRPC's buffer without bound). False when the
   * stream was cancelled, its session ended, or {@link #READY_WAIT} passed.
   */
  private boolean awaitReady(Taken request, long session) {
    long deadline = System.nanoTime() + READY_WAIT.toNanos();
    if (request.cancelled()) {
      return false; // its stream is being closed: the lines Docker sent meanwhile go nowhere
    }
    while (!ready.getAsBoolean()) {
      if (request.cancelled() || session != sessions.get() || System.nanoTime() - deadline > 0) {
        return false;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
    }
    return true;
  }

  /**
   * A request: registered when taken, so a cancel that comes while it waits for a thread or for
   * Docker is not lost (the stream would then hold its place until it ended, a followed one until
   * the session did).
   */
  private static final class Taken {
    private AutoCloseable stream;
    private boolean cancelled;

    /** Keeps the opened stream; false (and the caller closes it) when cancelled meanwhile. */
    synchronized boolean opened(AutoCloseable s) {
      if (cancelled) {
        return false;
      }
      stream = s;
      return true;
    }

    synchronized boolean isOpen() {
      return stream != null;
    }

    void cancel() {
      AutoCloseable s;
      synchronized (this) {
        cancelled = true;
        s = stream;
      }
      close(s);
    }

    synchronized boolean cancelled() {
      return cancelled;
    }
  }

  /** Takes a request, answered on {@code on}; refused with the reason when {@link #MAX_PENDING} are taken already. */
  void take(LogRequest r, Executor on) {
    if (pending.incrementAndGet() > MAX_PENDING) {
      pending.decrementAndGet();
      endWithError(r, "node " + node + " is answering " + MAX_PENDING + " log requests already; ask again later");
      return;
    }
    Runnable done = once(pending::decrementAndGet);
    long session = sessions.get();
    Taken request = new Taken();
    Taken before = taken.put(r.getRequestId(), request);
    if (before != null) {
      before.cancel(); // the same id again: the newer request wins
    }
    try {
      on.execute(() -> {
        boolean streaming = false;
        try {
          if (session == sessions.get() && !request.cancelled()) {
            streaming = answer(r, request, done, session);
          }
        } finally {
          if (!streaming) {
            done.run();
          }
          if (!request.isOpen()) {
            taken.remove(r.getRequestId(), request);
          }
        }
      });
    } catch (RejectedExecutionException e) {
      done.run();
      taken.remove(r.getRequestId(), request);
      endWithError(r, "node " + node + " is shutting down");
    }
  }

  /**
   * Answers a request; one the runtime fails gets the reason, not a stream that never ends. True
   * when a stream that is not followed was opened: it runs {@code done} when it ends.
   */
  private boolean answer(LogRequest r, Taken request, Runnable done, long session) {
    try {
      return start(r, request, done, session);
    } catch (RuntimeException e) {
      log.warn("log request for pod {} failed: {}", r.getPodName(), e.toString());
      endWithError(r, "cannot read the logs of pod " + r.getPodName() + ": " + e.getMessage());
      return false;
    }
  }

  void cancel(String requestId) {
    Taken f = taken.remove(requestId);
    if (f != null) {
      f.cancel();
    }
  }

  /** The session ended: no stream outlives it, and nothing taken before is answered. */
  void closeAll() {
    sessions.incrementAndGet();
    for (String id : taken.keySet()) {
      cancel(id);
    }
  }

  private boolean start(LogRequest r, Taken request, Runnable done, long session) {
    List<OwnedContainer> mine = runtime.listOwned(node, Map.of(Labels.POD, r.getPodName())).stream()
        .flatMap(c -> OwnedContainer.of(c, node, new StringBuilder()).stream())
        .filter(c -> (r.getNamespace().isEmpty() || r.getNamespace().equals(c.namespace())) && Labels.APP.equals(c.role()))
        .filter(c -> r.getContainer().isEmpty() || r.getContainer().equals(c.container()))
        .sorted(java.util.Comparator.comparingInt(OwnedContainer::restarts).reversed())
        .toList();
    if (r.getPrevious() && !mine.isEmpty()) {
      // the run before the latest of the same container (the agent keeps it: NodePlanner), as the kubelet's lastState
      OwnedContainer latest = mine.get(0);
      mine = mine.stream().filter(c -> c.container().equals(latest.container()) && c.restarts() < latest.restarts() && !c.running())
          .limit(1).toList();
      if (mine.isEmpty()) {
        endWithError(r, "previous terminated container " + (r.getContainer().isEmpty() ? "" : "\"" + r.getContainer() + "\" ")
            + "in pod " + r.getPodName() + " not found");
        return false;
      }
    }
    if (mine.isEmpty()) {
      endWithError(r, "no container " + (r.getContainer().isEmpty() ? "" : r.getContainer() + " ") + "in pod " + r.getPodName());
      return false;
    }
    if (request.cancelled()) {
      return false; // cancelled while the containers were read (Docker may have taken minutes)
    }
    boolean follow = r.getFollow();
    if (follow && !followSlots.tryAcquire()) {
      endWithError(r, "node " + node + " has " + MAX_FOLLOWS + " followed log streams open; close one");
      return false;
    }
    Runnable end = once(() -> {
      taken.remove(r.getRequestId(), request);
      if (follow) {
        followSlots.release();
      } else {
        done.run();
      }
    });
    List<String> batch = new ArrayList<>();
    long[] batchBytes = {0}; // about the batch's size on the wire: a chunk stays far below the coordinator's 4 MiB message limit
    ScheduledFuture<?> flusher = !follow ? null : scheduler.scheduleWithFixedDelay(() -> {
      synchronized (batch) {
        if (!batch.isEmpty() && ready.getAsBoolean()) { // else the next round, or the reading thread once it may
          flush(r.getRequestId(), batch, false);
          batchBytes[0] = 0;
        }
      }
    }, 200, 200, TimeUnit.MILLISECONDS);
    AutoCloseable h;
    try {
      long[] leftOut = {0}; // only Docker's reading thread touches it
      h = runtime.logs(mine.get(0).id(), r.getTailLines(), follow, line -> {
        if (!awaitReady(request, session)) {
          leftOut[0]++;
          return;
        }
        synchronized (batch) {
          if (leftOut[0] > 0) {
            batch.add("[ds-agent: " + leftOut[0] + " lines left out here: the coordinator took no more for "
                + READY_WAIT.toSeconds() + " s]");
            leftOut[0] = 0;
          }
          batch.add(line);
          batchBytes[0] += 3L * line.length() + 8; // UTF-8 takes at most 3 bytes a char (a byte Docker could not decode is U+FFFD: 3)
          if (batch.size() >= 100 || batchBytes[0] >= MAX_CHUNK_BYTES) {
            flush(r.getRequestId(), batch, false);
            batchBytes[0] = 0;
          }
        }
      }, () -> {
        if (flusher != null) {
          flusher.cancel(false);
        }
        synchronized (batch) {
          flush(r.getRequestId(), batch, true);
        }
        end.run();
      });
    } catch (RuntimeException e) {
      if (flusher != null) {
        flusher.cancel(false);
      }
      end.run();
      throw e;
    }
    // a followed stream's place is free once it is cancelled; a read whole ends as the runtime
    // ends its stream, which closing it makes happen
    AutoCloseable stop = !follow ? h : () -> {
      flusher.cancel(false);
      end.run();
      h.close();
    };
    if (!request.opened(stop)) {
      close(stop); // cancelled while it opened
    }
    return !follow;
  }

  /** Runs {@code r} the first time only. */
  private static Runnable once(Runnable r) {
    AtomicBoolean ran = new AtomicBoolean();
    return () -> {
      if (ran.compareAndSet(false, true)) {
        r.run();
      }
    };
  }

  private void endWithError(LogRequest r, String error) {
    send.accept(AgentMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setRequestId(r.getRequestId()).setError(error).setEof(true))
        .build());
  }

  private void flush(String id, List<String> batch, boolean eof) {
    send.accept(AgentMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setRequestId(id).addAllLines(batch).setEof(eof)).build());
    batch.clear();
  }

  private static void close(AutoCloseable h) {
    if (h == null) {
      return;
    }
    try {
      h.close();
    } catch (Exception ignored) {
      // already ended
    }
  }
}
