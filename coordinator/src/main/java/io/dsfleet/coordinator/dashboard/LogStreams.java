package io.dsfleet.coordinator.dashboard;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogsRequest;
import io.grpc.Status;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The dashboard's streamed pod logs. A page's stream is a follower: a `logs -f` relay from the
 * pod's agent whose lines wait here, numbered, in a buffer of at most {@link #MAX_BUFFERED_BYTES}
 * (the oldest go first, and the reader is told how many it missed). The browser reads it as
 * server-sent events in responses of at most {@code window} each (the server closes idle and long
 * responses, and a thread serves each one while it lasts); its EventSource reconnects with the last
 * line's id, so the next response goes on from there: no line lost or repeated across responses. A
 * follower nobody reads for {@code idle} ends, and its relay with it. Followers are capped per
 * login (a new one replaces that login's oldest unread one) and in all; the login is checked again
 * at every reconnect and every few seconds while a response lasts.
 */
final class LogStreams implements AutoCloseable {
  static final int MAX_FOLLOWERS = 16;
  static final int MAX_PER_LOGIN = 4;
  static final long MAX_BUFFERED_BYTES = 1 << 20;

  private final LogRelay relays;
  private volatile Duration window;
  private volatile Duration idle;
  private final Map<String, Follower> followers = new ConcurrentHashMap<>();
  private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "dashboard-logs");
    t.setDaemon(true);
    return t;
  });
  private final SecureRandom random = new SecureRandom();

  LogStreams(LogRelay relays, Duration window, Duration idle) {
    this.relays = relays;
    times(window, idle);
    reaper.scheduleWithFixedDelay(this::reap, 1, 1, TimeUnit.SECONDS);
  }

  /** How long a response lasts, and how long a follower nobody reads lives on (tests shorten both). */
  void times(Duration window, Duration idle) {
    this.window = window;
    this.idle = idle;
  }

  Duration window() {
    return window;
  }

  /** A batch of lines for a reader: those after the one it had, how many it missed, and whether the stream ended (and why). */
  record Batch(List<String> lines, long lastSeq, long missed, boolean ended, String endReason) {}

  /** One relay's lines, numbered from 1, for the login that opened it. */
  final class Follower implements LogRelay.Reader {
    final String id;
    final String owner;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private long firstSeq = 1; // the number of the oldest line held
    private long bytes;
    private boolean ended;
    private String endReason = "";
    private int readers;
    final long created = System.nanoTime();
    private long unreadSince = created;
    private LogRelay.Relay relay;

    Follower(String id, String owner) {
      this.id = id;
      this.owner = owner;
    }

    @Override
    public boolean isReady() {
      return true; // lines never wait in the relay: the buffer here is bounded instead
    }

    @Override
    public synchronized void onNext(LogLine line) {
      String text = line.getLine();
      lines.addLast(text);
      bytes += size(text);
      while (bytes > MAX_BUFFERED_BYTES && lines.size() > 1) {
        bytes -= size(lines.removeFirst());
        firstSeq++;
      }
      notifyAll();
    }

    /** A line's weight here: its characters at UTF-16's two bytes, and the deque's slot. */
    private static long size(String line) {
      return 2L * line.length() + 16;
    }

    @Override
    public synchronized void onCompleted() {
      end("the container's log ended");
    }

    @Override
    public synchronized void onError(Status status) {
      end("the stream failed: " + (status.getDescription() == null ? status.getCode() : status.getDescription()));
    }

    private synchronized void end(String why) {
      if (!ended) {
        ended = true;
        endReason = why;
        notifyAll();
      }
    }

    /** The lines after {@code seq}, waiting until {@code deadlineNanos} for at least one (or the end). */
    synchronized Batch after(long seq, long deadlineNanos) throws InterruptedException {
      long last = firstSeq + lines.size() - 1;
      while (last <= seq && !ended) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return new Batch(List.of(), seq, 0, false, "");
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
        last = firstSeq + lines.size() - 1;
      }
      long from = Math.max(seq + 1, firstSeq);
      List<String> out = new ArrayList<>((int) Math.max(0, last - from + 1)); // none past the end: a made-up id asks for more than there is
      var newestFirst = lines.descendingIterator(); // the newest lines only: a batch costs its own size, not the buffer's
      for (long n = last; n >= from; n--) {
        out.add(newestFirst.next());
      }
      java.util.Collections.reverse(out);
      return new Batch(out, last, from - (seq + 1), ended, endReason); // ended: every line is in this batch or was in one before
    }

    /** A response starts reading it: false when it ended meanwhile (stopped, reaped: make another). */
    synchronized boolean attach() {
      if (ended) {
        return false;
      }
      readers++;
      return true;
    }

    synchronized void detach() {
      readers--;
      unreadSince = System.nanoTime();
    }

    /** Ends it if nobody reads it and nobody has for {@code d}, in one step with {@link #attach}. */
    private void endIfUnread(Duration d) {
      synchronized (this) {
        if (readers > 0 || ended || System.nanoTime() - unreadSince <= d.toNanos()) {
          return;
        }
        end("nobody read it");
      }
      stop();
    }

    private synchronized boolean unread() {
      return readers == 0;
    }

    void stop() {
      followers.remove(id);
      LogRelay.Relay r;
      synchronized (this) {
        r = relay;
      }
      if (r != null) {
        r.cancel();
      }
      end("stopped");
    }
  }

  /**
   * The follower a reconnecting browser names with its last event id ("follower:seq"), if it is
   * this login's and still here; null otherwise.
   */
  Follower resume(String lastEventId, String owner) {
    if (lastEventId == null || lastEventId.indexOf(':') < 0) {
      return null;
    }
    Follower f = followers.get(lastEventId.substring(0, lastEventId.indexOf(':')));
    return f != null && f.owner.equals(owner) ? f : null;
  }

  /** The line number in a last event id ("follower:seq"); 0 for none. */
  static long seqOf(String lastEventId) {
    try {
      return lastEventId == null ? 0 : Long.parseLong(lastEventId.substring(lastEventId.indexOf(':') + 1));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * A new follower of a pod's log, from its last {@code tail} lines on.
   *
   * @throws ControlException NOT_FOUND (no such pod on a connected node), RESOURCE_EXHAUSTED (too many streams open)
   */
  Follower follow(Fleet fleet, String owner, LogsRequest req) {
    byte[] id = new byte[12];
    random.nextBytes(id);
    Follower f = new Follower(Base64.getUrlEncoder().withoutPadding().encodeToString(id), owner);
    Follower replaced = null;
    synchronized (followers) { // the caps and the place taken in one step; the relay starts outside
      List<Follower> mine = followers.values().stream().filter(o -> o.owner.equals(owner)).sorted(java.util.Comparator.comparingLong(
          o -> o.created)).toList();
      if (mine.size() >= MAX_PER_LOGIN) {
        replaced = mine.stream().filter(Follower::unread).findFirst().orElseThrow(() -> new ControlException(
            Status.Code.RESOURCE_EXHAUSTED, "this login reads " + MAX_PER_LOGIN + " logs already: close one"));
        followers.remove(replaced.id);
      } else if (followers.size() >= MAX_FOLLOWERS) {
        throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, MAX_FOLLOWERS + " log streams are open on this dashboard: close one");
      }
      followers.put(f.id, f);
    }
    if (replaced != null) {
      replaced.stop(); // a page left or reloaded: its stream would end unread anyway
    }
    try {
      LogRelay.Relay r = relays.start(fleet, req.toBuilder().setFollow(true).build(), f);
      synchronized (f) {
        f.relay = r;
      }
    } catch (RuntimeException e) {
      followers.remove(f.id);
      throw e;
    }
    return f;
  }

  /** A pod's last {@code tail} lines, read whole (at most 3 s): the page without its script shows these. */
  List<String> tail(Fleet fleet, LogsRequest req) throws InterruptedException {
    return relays.read(fleet, req, Duration.ofSeconds(3));
  }

  private void reap() {
    Duration limit = idle;
    for (Follower f : followers.values()) {
      f.endIfUnread(limit);
    }
  }

  @Override
  public void close() {
    reaper.shutdownNow();
    followers.values().forEach(Follower::stop);
  }
}
