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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log requests a session carries (`dsctl logs`, the dashboard's log view): each answered from
 * the runtime in chunks of up to 100 lines, a followed one flushed every 200 ms until it is
 * cancelled or the session ends. {@link #answer} waits for the runtime: the session runs it off
 * the heartbeats' scheduler.
 */
final class LogRequests {
  private static final Logger log = LoggerFactory.getLogger(LogRequests.class);
  private final String node;
  private final ContainerRuntime runtime;
  private final ScheduledExecutorService scheduler;
  private final Consumer<AgentMessage> send;
  /** Followed streams by request id: closed when cancelled or when the session ends. */
  private final Map<String, AutoCloseable> follows = new ConcurrentHashMap<>();

  LogRequests(String node, ContainerRuntime runtime, ScheduledExecutorService scheduler, Consumer<AgentMessage> send) {
    this.node = node;
    this.runtime = runtime;
    this.scheduler = scheduler;
    this.send = send;
  }

  /** Answers a request; one the runtime fails gets the reason, not a stream that never ends. */
  void answer(LogRequest r) {
    try {
      start(r);
    } catch (RuntimeException e) {
      log.warn("log request for pod {} failed: {}", r.getPodName(), e.toString());
      endWithError(r, "cannot read the logs of pod " + r.getPodName() + ": " + e.getMessage());
    }
  }

  void cancel(String requestId) {
    close(follows.remove(requestId));
  }

  /** The session ended: no followed stream outlives it. */
  void closeAll() {
    follows.values().forEach(LogRequests::close);
    follows.clear();
  }

  private void start(LogRequest r) {
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
        return;
      }
    }
    if (mine.isEmpty()) {
      endWithError(r, "no container " + (r.getContainer().isEmpty() ? "" : r.getContainer() + " ") + "in pod " + r.getPodName());
      return;
    }
    List<String> batch = new ArrayList<>();
    ScheduledFuture<?> flusher = !r.getFollow() ? null : scheduler.scheduleWithFixedDelay(() -> {
      synchronized (batch) {
        if (!batch.isEmpty()) {
          flush(r.getRequestId(), batch, false);
        }
      }
    }, 200, 200, TimeUnit.MILLISECONDS);
    AutoCloseable h;
    try {
      h = runtime.logs(mine.get(0).id(), r.getTailLines(), r.getFollow(), line -> {
        synchronized (batch) {
          batch.add(line);
          if (batch.size() >= 100) {
            flush(r.getRequestId(), batch, false);
          }
        }
      }, () -> {
        if (flusher != null) {
          flusher.cancel(false);
        }
        synchronized (batch) {
          flush(r.getRequestId(), batch, true);
        }
        follows.remove(r.getRequestId());
      });
    } catch (RuntimeException e) {
      if (flusher != null) {
        flusher.cancel(false);
      }
      throw e;
    }
    if (r.getFollow()) {
      follows.put(r.getRequestId(), () -> {
        flusher.cancel(false);
        h.close();
      });
    }
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
