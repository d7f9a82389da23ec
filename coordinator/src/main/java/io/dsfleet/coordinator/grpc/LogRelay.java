package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.LogCancel;
import io.dsfleet.proto.v1.LogChunk;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Relays container logs from agents to dsctl: one LogRequest per node, lines come back as
 * LogChunks on the agents' sessions and go out to the client prefixed by node. The client's
 * stream ends when every node has sent its last chunk.
 *
 * <p>A reader gets lines as fast as it takes them (gRPC flow control): what it has not taken waits
 * here, at most {@link #MAX_WAITING_BYTES} per reader; a reader further behind is dropped (its
 * stream fails RESOURCE_EXHAUSTED and the agents stop sending), so a {@code logs -f} that never
 * reads cannot grow the coordinator's heap.
 */
public final class LogRelay {
  /** Lines waiting for one slow reader before it is dropped. */
  static final long MAX_WAITING_BYTES = 4L << 20;

  private final Map<String, Relay> relays = new ConcurrentHashMap<>();

  /** One client's stream; every method is safe from any thread. */
  public final class Relay {
    private final String id;
    private final ServerCallStreamObserver<LogLine> client;
    private final Map<String, AgentSink> sinks;
    private final Map<String, String> podByNode;
    private final Set<String> open;
    private final ArrayDeque<LogLine> waiting = new ArrayDeque<>();
    private long waitingBytes;
    private boolean ended;

    private Relay(String id, ServerCallStreamObserver<LogLine> client, Map<String, AgentSink> sinks, Map<String, String> podByNode) {
      this.id = id;
      this.client = client;
      this.sinks = sinks;
      this.podByNode = podByNode;
      this.open = new HashSet<>(podByNode.keySet());
    }

    /** The client went away: the agents stop sending. */
    public void cancel() {
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
      }
      stopAgents();
    }

    /** Ends the client's stream with this status (a revoked credential, a reader too slow) and stops the agents. */
    public void fail(Status status) {
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
        waiting.clear();
        client.onError(status.asRuntimeException());
      }
      stopAgents();
    }

    private void stopAgents() {
      if (relays.remove(id) != null) {
        sinks.values().forEach(s -> s.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId(id)).build()));
      }
    }

    /** Sends what waits while the client takes it; called when the client can take more. */
    private synchronized void drain() {
      while (!ended && !waiting.isEmpty() && client.isReady()) {
        LogLine l = waiting.removeFirst();
        waitingBytes -= l.getSerializedSize();
        client.onNext(l);
      }
      if (!ended && waiting.isEmpty() && open.isEmpty()) {
        ended = true;
        client.onCompleted();
      }
    }

    /** A line of the relay's own (a node it could not ask), in order with the agents' lines. */
    public void notice(String node, String text) {
      line(node, text);
    }

    private void line(String node, String text) {
      LogLine l = LogLine.newBuilder().setNodeName(node).setPodName(podByNode.getOrDefault(node, "")).setLine(text).build();
      boolean tooSlow;
      synchronized (this) {
        if (ended) {
          return;
        }
        waiting.addLast(l);
        waitingBytes += l.getSerializedSize();
        tooSlow = waitingBytes > MAX_WAITING_BYTES;
      }
      if (tooSlow) {
        fail(Status.RESOURCE_EXHAUSTED.withDescription("the log reader fell more than " + (MAX_WAITING_BYTES >> 20)
            + " MiB behind; dropped"));
      } else {
        drain();
      }
    }

    private void nodeDone(String node) {
      synchronized (this) {
        open.remove(node);
      }
      drain();
    }
  }

  /** Starts a relay: asks each node's agent for its pod's logs. */
  public Relay start(Map<String, AgentSink> sinks, Map<String, String> podByNode, LogRequest template,
      ServerCallStreamObserver<LogLine> client) {
    String id = UUID.randomUUID().toString();
    Relay r = new Relay(id, client, Map.copyOf(sinks), podByNode);
    client.setOnReadyHandler(r::drain);
    client.setOnCancelHandler(r::cancel);
    relays.put(id, r);
    for (var e : sinks.entrySet()) {
      e.getValue().send(CoordinatorMessage.newBuilder().setLogRequest(template.toBuilder().setRequestId(id)
          .setPodName(podByNode.get(e.getKey()))).build());
    }
    return r;
  }

  void deliver(String node, LogChunk chunk) {
    Relay r = relays.get(chunk.getRequestId());
    if (r == null || !r.podByNode.containsKey(node)) {
      return; // a late chunk of a cancelled request, or a node answering for another: dropped
    }
    for (String line : chunk.getLinesList()) {
      r.line(node, line);
    }
    if (!chunk.getError().isEmpty()) {
      r.line(node, "error: " + chunk.getError());
    }
    if (chunk.getEof()) {
      r.nodeDone(node);
    }
  }

  void nodeGone(String node) {
    for (Relay r : relays.values()) {
      boolean wasOpen;
      synchronized (r) {
        wasOpen = r.open.contains(node);
      }
      if (wasOpen) {
        r.line(node, "error: the node's session ended");
        r.nodeDone(node);
      }
    }
  }
}
