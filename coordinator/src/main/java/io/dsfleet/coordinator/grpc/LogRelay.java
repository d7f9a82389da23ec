package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.LogCancel;
import io.dsfleet.proto.v1.LogChunk;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogRequest;
import io.grpc.stub.StreamObserver;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Relays container logs from agents to dsctl: one LogRequest per node, lines come back as
 * LogChunks on the agents' sessions and go out to the client prefixed by node. The client's
 * stream ends when every node has sent its last chunk.
 */
public final class LogRelay {
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  private static final class Pending {
    final StreamObserver<LogLine> client;
    final Map<String, String> podByNode;
    final Set<String> open;

    Pending(StreamObserver<LogLine> client, Map<String, String> podByNode) {
      this.client = client;
      this.podByNode = podByNode;
      this.open = new HashSet<>(podByNode.keySet());
    }
  }

  /** Starts a relay; returns a handle that cancels it. */
  public Runnable start(Map<String, AgentSink> sinks, Map<String, String> podByNode, LogRequest template,
      StreamObserver<LogLine> client) {
    String id = UUID.randomUUID().toString();
    Pending p = new Pending(client, podByNode);
    pending.put(id, p);
    for (var e : sinks.entrySet()) {
      e.getValue().send(CoordinatorMessage.newBuilder().setLogRequest(template.toBuilder().setRequestId(id)
          .setPodName(podByNode.get(e.getKey()))).build());
    }
    return () -> {
      if (pending.remove(id) != null) {
        sinks.values().forEach(s -> s.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId(id)).build()));
      }
    };
  }

  void deliver(String node, LogChunk chunk) {
    Pending p = pending.get(chunk.getRequestId());
    if (p == null || !p.podByNode.containsKey(node)) {
      return; // a late chunk of a cancelled request, or a node answering for another: dropped
    }
    synchronized (p) {
      for (String line : chunk.getLinesList()) {
        p.client.onNext(LogLine.newBuilder().setNodeName(node).setPodName(p.podByNode.get(node)).setLine(line).build());
      }
      if (!chunk.getError().isEmpty()) {
        p.client.onNext(LogLine.newBuilder().setNodeName(node).setPodName(p.podByNode.get(node))
            .setLine("error: " + chunk.getError()).build());
      }
      if (chunk.getEof()) {
        finish(chunk.getRequestId(), p, node);
      }
    }
  }

  void nodeGone(String node) {
    for (var e : pending.entrySet()) {
      Pending p = e.getValue();
      synchronized (p) {
        if (p.open.contains(node)) {
          p.client.onNext(LogLine.newBuilder().setNodeName(node).setLine("error: the node's session ended").build());
          finish(e.getKey(), p, node);
        }
      }
    }
  }

  private void finish(String id, Pending p, String node) {
    p.open.remove(node);
    if (p.open.isEmpty() && pending.remove(id) != null) {
      p.client.onCompleted();
    }
  }
}
