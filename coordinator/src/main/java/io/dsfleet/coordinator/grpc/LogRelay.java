package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.LogCancel;
import io.dsfleet.proto.v1.LogChunk;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogRequest;
import io.dsfleet.proto.v1.LogsRequest;
import io.dsfleet.proto.v1.PodStatus;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Relays container logs from agents to a reader (dsctl's stream, the dashboard's log page): one
 * LogRequest per node, lines come back as LogChunks on the agents' sessions and go out to the
 * reader prefixed by node. The reader's stream ends when every node has sent its last chunk.
 *
 * <p>A reader gets lines as fast as it takes them (gRPC flow control): what it has not taken waits
 * here, at most {@link #MAX_WAITING_BYTES} per reader; a reader further behind is dropped (its
 * stream fails RESOURCE_EXHAUSTED and the agents stop sending), so a {@code logs -f} that never
 * reads cannot grow the coordinator's heap. Where one node of several holds most of what waits,
 * that node is what outran the reader: its stream alone is stopped, its lines dropped, a line says
 * so, and the reader goes on with the others (until 2026-12-08 one node sending faster than the
 * reader took, a noisy pod or root on a node, ended an operator's whole {@code logs -f} of the
 * fleet).
 *
 * <p>A followed stream holds one of an agent's 32 places (LogRequests.MAX_FOLLOWS) on each of its
 * nodes for as long as it is open; one credential holds at most {@link #MAX_FOLLOWS_PER_NODE} of
 * them, so its `logs -f` streams and dashboard pages leave the others half of every node's. A
 * stream's place on a node is given back when its stream there ends, not only when the relay does.
 */
public final class LogRelay {
  /** Lines waiting for one slow reader before it is dropped, as {@link #heapBytes} counts them. */
  static final long MAX_WAITING_BYTES = 4L << 20;

  /**
   * About what a log line costs on the heap where it waits: its characters (a byte each where all
   * are Latin-1, as Java keeps such text; else two each) and the objects around them (the line's
   * string, its message, a queue's or a list's slot: about 96 bytes). Counting characters alone
   * let an agent send millions of empty lines against a bound of bytes; counting every character
   * at one byte let text of other scripts (a pod writing binary: U+FFFD) hold twice the bound.
   */
  public static long heapBytes(String line) {
    int wide = 1;
    for (int i = 0; i < line.length(); i++) {
      if (line.charAt(i) > 0xFF) {
        wide = 2;
        break;
      }
    }
    return (long) line.length() * wide + 96L;
  }

  /**
   * Followed streams of one credential open on one node at once: half of what an agent serves.
   * Before 2026-12-06 a viewer's 32 `logs -f` of a DaemonSet run everywhere took every place on
   * every node, and every other follow, an admin's or the dashboard's, was refused by the agents.
   */
  static final int MAX_FOLLOWS_PER_NODE = 16;

  private final Map<String, Relay> relays = new ConcurrentHashMap<>();
  /** Followed streams open by credential and node ("credential node"), counted while their relays are. */
  private final Map<String, Integer> follows = new HashMap<>();

  /**
   * A pod's log read whole, not followed: the lines its agents send until they end, or as many as
   * came within {@code limit} (an agent that does not answer ends the wait, not the caller), at
   * most {@link #MAX_WAITING_BYTES} of them as {@link #heapBytes} counts (a last line then says the
   * rest was left out: a log of gigabytes read without --tail, or an agent sending endless empty
   * lines, must not fill the coordinator's heap). Lines of the relay's own
   * (a node not connected) come as its agents' do.
   *
   * @throws ControlException NOT_FOUND as {@link #start}
   */
  public List<String> read(Fleet fleet, LogsRequest req, java.time.Duration limit) throws InterruptedException {
    List<String> lines = new ArrayList<>();
    long[] bytes = {0};
    java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
    Relay r = start(fleet, req.toBuilder().setFollow(false).build(), null, new Reader() {
      @Override
      public boolean isReady() {
        return true;
      }

      @Override
      public void onNext(LogLine line) {
        synchronized (lines) {
          if (bytes[0] > MAX_WAITING_BYTES) {
            return;
          }
          bytes[0] += heapBytes(line.getLine());
          lines.add(bytes[0] > MAX_WAITING_BYTES ? "[the log goes on beyond " + (MAX_WAITING_BYTES >> 20)
              + " MiB: read it with a tail or with dsctl logs, which streams]" : line.getLine());
          if (bytes[0] > MAX_WAITING_BYTES) {
            ended.countDown();
          }
        }
      }

      @Override
      public void onCompleted() {
        ended.countDown();
      }

      @Override
      public void onError(Status status) {
        ended.countDown();
      }
    });
    try {
      ended.await(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      synchronized (lines) {
        return List.copyOf(lines);
      }
    } finally {
      r.cancel();
    }
  }

  /** Relays under way: asked of agents, not yet ended. */
  public int open() {
    return relays.size();
  }

  /** Where a relay's lines go; called under the relay's lock, so it must not block. */
  public interface Reader {
    /** Whether it takes a line now (else the relay keeps it until {@link Relay#drain} is called). */
    boolean isReady();

    void onNext(LogLine line);

    void onCompleted();

    void onError(Status status);
  }

  /** A dsctl stream as a reader; its flow control and cancellation drive the relay. */
  public static Reader reader(ServerCallStreamObserver<LogLine> call) {
    return new Reader() {
      @Override
      public boolean isReady() {
        return call.isReady();
      }

      @Override
      public void onNext(LogLine line) {
        call.onNext(line);
      }

      @Override
      public void onCompleted() {
        call.onCompleted();
      }

      @Override
      public void onError(Status status) {
        call.onError(status.asRuntimeException());
      }
    };
  }

  /** One reader's stream; every method is safe from any thread. */
  public final class Relay {
    private final String id;
    private final Reader client;
    private final Map<String, AgentSink> sinks;
    /** The credential whose followed stream this is; null when it is not followed. */
    private final String follower;
    /** The nodes whose place it holds for {@link #follower}, guarded by {@link #follows}: a node's ends with its stream there. */
    private final Set<String> holding;
    private final Map<String, String> podByNode;
    private final Set<String> open;
    private final ArrayDeque<LogLine> waiting = new ArrayDeque<>();
    private long waitingBytes;
    /** What waits by node, as {@link #waitingBytes} counts it; a node is absent where none waits. */
    private final Map<String, Long> waitingByNode = new HashMap<>();
    private boolean ended;

    private Relay(String id, Reader client, Map<String, AgentSink> sinks, String follower, Map<String, String> podByNode) {
      this.id = id;
      this.client = client;
      this.sinks = sinks;
      this.follower = follower;
      this.holding = follower == null ? Set.of() : new HashSet<>(sinks.keySet());
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
        client.onError(status);
      }
      stopAgents();
    }

    private void stopAgents() {
      if (forget()) {
        sinks.values().forEach(s -> s.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId(id)).build()));
      }
    }

    /** Sends what waits while the reader takes it; called when the reader can take more. */
    public synchronized void drain() {
      while (!ended && !waiting.isEmpty() && client.isReady()) {
        LogLine l = waiting.removeFirst();
        taken(l.getNodeName(), heapBytes(l.getLine()));
        client.onNext(l);
      }
      if (!ended && waiting.isEmpty() && open.isEmpty()) {
        ended = true;
        forget(); // every agent sent its last chunk: nothing to stop, nothing more to route here
        client.onCompleted();
      }
    }

    /** Routes nothing more here and gives back its follower's places; false when that was done already. */
    private boolean forget() {
      if (relays.remove(id) == null) {
        return false;
      }
      release(List.copyOf(sinks.keySet()));
      return true;
    }

    /** Gives back its follower's places on these nodes, each once. */
    private void release(java.util.Collection<String> nodes) {
      if (follower == null) {
        return;
      }
      synchronized (follows) {
        for (String n : nodes) {
          if (holding.remove(n)) {
            follows.computeIfPresent(follower + " " + n, (k, held) -> held > 1 ? held - 1 : null);
          }
        }
      }
    }

    /** A line of the relay's own (a node it could not ask), in order with the agents' lines. */
    public void notice(String node, String text) {
      line(node, text);
    }

    private void line(String node, String text) {
      LogLine l = LogLine.newBuilder().setNodeName(node).setPodName(podByNode.getOrDefault(node, "")).setLine(text).build();
      String outran;
      boolean tooSlow;
      synchronized (this) {
        if (ended || podByNode.containsKey(node) && !open.contains(node)) {
          return; // the rest of a chunk from a node whose stream was stopped within it
        }
        add(l);
        outran = waitingBytes > MAX_WAITING_BYTES ? outran() : null;
        tooSlow = outran == null && waitingBytes > MAX_WAITING_BYTES;
        if (outran != null) {
          long dropped = waitingByNode.get(outran);
          waiting.removeIf(w -> w.getNodeName().equals(outran));
          taken(outran, dropped);
          open.remove(outran);
          add(LogLine.newBuilder().setNodeName(outran).setPodName(podByNode.getOrDefault(outran, ""))
              .setLine("error: " + outran + "'s log came faster than the reader took it (" + (dropped >> 10)
                  + " KiB waiting): its lines not yet read were dropped and its stream stopped").build());
        }
      }
      if (tooSlow) {
        fail(Status.RESOURCE_EXHAUSTED.withDescription("the log reader fell more than " + (MAX_WAITING_BYTES >> 20)
            + " MiB behind; dropped"));
        return;
      }
      if (outran != null) {
        sinks.get(outran).send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId(id)).build());
        release(List.of(outran));
      }
      drain();
    }

    /** Whether {@code node}'s stream is still relayed: it has not ended, nor been stopped for outrunning the reader. */
    private synchronized boolean relaying(String node) {
      return open.contains(node);
    }

    private void add(LogLine l) {
      long bytes = heapBytes(l.getLine());
      waiting.addLast(l);
      waitingBytes += bytes;
      waitingByNode.merge(l.getNodeName(), bytes, Long::sum);
    }

    /**
     * The node that outran the reader, when one did: an open node holding more than half of what
     * waits, while another node is still open for the reader to go on with. Else (what waits spread
     * over the nodes, or one node left) the reader is what is slow, and none is named.
     */
    private String outran() {
      if (open.size() < 2) {
        return null;
      }
      for (var e : waitingByNode.entrySet()) {
        if (open.contains(e.getKey()) && e.getValue() * 2 > waitingBytes) {
          return e.getKey();
        }
      }
      return null;
    }

    /** {@code bytes} of {@code node}'s lines no longer wait. */
    private void taken(String node, long bytes) {
      waitingBytes -= bytes;
      waitingByNode.computeIfPresent(node, (n, b) -> b - bytes > 0 ? b - bytes : null);
    }

    private void nodeDone(String node) {
      synchronized (this) {
        open.remove(node);
      }
      // the node's stream ended (its log ended, it refused, its session ended): the agent's place is
      // free, and so is the credential's, while the relay goes on with its other nodes
      release(List.of(node));
      drain();
    }
  }

  /**
   * Starts a relay for a logs request: asks the agent of each node running a pod of the DaemonSet
   * (of the one node named, if one is) for its pod's logs; a node whose agent is not connected gets
   * a line saying so.
   *
   * @param credential whose stream it is ("admin/NAME", "viewer/NAME"): a followed one counts
   *     against its {@link #MAX_FOLLOWS_PER_NODE} on each node asked
   * @throws ControlException INVALID_ARGUMENT: a container that is no container's name (before
   *     2026-12-06 any was relayed: a viewer's of 4 MiB went to every node of the DaemonSet in a
   *     message of its own); NOT_FOUND: no such DaemonSet, or no pod of it on a connected node;
   *     RESOURCE_EXHAUSTED: a followed stream of a credential that holds its share of a node's
   */
  public Relay start(Fleet fleet, LogsRequest req, String credential, Reader reader) {
    String badContainer = req.getContainer().isEmpty() ? null : io.dsfleet.common.manifest.Names.dns1123Label(req.getContainer());
    if (badContainer != null) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "container " + (req.getContainer().length() <= 63
          ? "\"" + req.getContainer() + "\"" : "of " + req.getContainer().length() + " characters") + ": " + badContainer);
    }
    String ns = req.getNamespace().isEmpty() ? "default" : req.getNamespace();
    String key = Fleet.key(ns, req.getDaemonSet());
    fleet.daemonSet(ns, req.getDaemonSet());
    Map<String, AgentSink> sinks = new TreeMap<>();
    Map<String, String> podByNode = new HashMap<>();
    List<String> unreachable = new ArrayList<>();
    for (NodeSnapshot n : fleet.nodes()) {
      if (!req.getNodeName().isEmpty() && !n.name().equals(req.getNodeName())) {
        continue;
      }
      String pod = n.pods().stream().filter(p -> Fleet.key(p.getNamespace(), p.getDaemonSet()).equals(key))
          .map(PodStatus::getPodName).findFirst().orElse(null);
      // only where the DaemonSet is placed (its plan keeps a pod of it): a node reporting a pod of
      // a DaemonSet never placed there is not asked, and its lines never mix into the DaemonSet's
      if (pod == null || n.desired().stream().noneMatch(a -> a.dsKey().equals(key))) {
        continue;
      }
      AgentSink sink = fleet.session(n.name());
      if (sink == null) {
        unreachable.add(n.name());
      } else {
        sinks.put(n.name(), sink);
        podByNode.put(n.name(), pod);
      }
    }
    if (sinks.isEmpty()) {
      throw new ControlException(Status.Code.NOT_FOUND, "no running pod of " + req.getDaemonSet()
          + (req.getNodeName().isEmpty() ? "" : " on node " + req.getNodeName())
          + (unreachable.isEmpty() ? "" : " on a connected node (not connected: " + unreachable + ")"));
    }
    String follower = req.getFollow() ? credential : null;
    if (follower != null) {
      takeFollows(follower, sinks.keySet());
    }
    String id = UUID.randomUUID().toString();
    Relay r = new Relay(id, reader, Map.copyOf(sinks), follower, podByNode);
    relays.put(id, r);
    LogRequest template = LogRequest.newBuilder().setRequestId(id).setNamespace(ns).setContainer(req.getContainer())
        .setFollow(req.getFollow()).setTailLines(req.getTailLines() == 0 ? -1 : Math.max(0, req.getTailLines())).setPrevious(req.getPrevious()).build();
    for (var e : sinks.entrySet()) {
      e.getValue().send(CoordinatorMessage.newBuilder().setLogRequest(template.toBuilder().setPodName(podByNode.get(e.getKey()))).build());
    }
    for (String n : unreachable) {
      r.notice(n, "error: node not connected; no logs");
    }
    return r;
  }

  /** A place on each of {@code nodes} for a followed stream of {@code credential}, all or none. */
  private void takeFollows(String credential, Set<String> nodes) {
    synchronized (follows) {
      for (String n : nodes) {
        if (follows.getOrDefault(credential + " " + n, 0) >= MAX_FOLLOWS_PER_NODE) {
          throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, credential + " follows " + MAX_FOLLOWS_PER_NODE
              + " logs on node " + n + " already (half of what a node serves at once); end one");
        }
      }
      nodes.forEach(n -> follows.merge(credential + " " + n, 1, Integer::sum));
    }
  }

  void deliver(String node, LogChunk chunk) {
    Relay r = relays.get(chunk.getRequestId());
    if (r == null || !r.relaying(node)) {
      return; // a late chunk of a cancelled request or of a node's stream that ended or was stopped, or a node answering for another: dropped
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
      if (r.relaying(node)) {
        r.line(node, "error: the node's session ended");
        r.nodeDone(node);
      }
    }
  }
}
