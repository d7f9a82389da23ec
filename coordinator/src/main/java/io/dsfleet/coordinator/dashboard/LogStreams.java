package io.dsfleet.coordinator.dashboard;

import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogsRequest;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * login (a new one replaces that login's oldest unread one), per credential (half of them: its
 * logins' oldest unread one is replaced) and in all, and so are the responses being sent (half of
 * them to one credential): one credential, with the several logins `dsctl dashboard` gives it,
 * cannot take every stream and keep the others' pages from following logs; the login is checked again
 * at every reconnect and every few seconds while a response lasts. {@link #serve} writes those
 * responses; the dashboard routes to it.
 */
final class LogStreams implements AutoCloseable {
  static final int MAX_FOLLOWERS = 16;
  static final int MAX_PER_LOGIN = 4;
  /** Followers of one credential's logins at once: the other half stays for the others. */
  static final int MAX_PER_CREDENTIAL = MAX_FOLLOWERS / 2;
  static final long MAX_BUFFERED_BYTES = 1 << 20;
  /** Responses being sent now, each on a thread of the dashboard's own while it lasts; the pages keep the rest. */
  static final int MAX_STREAMING = 8;
  /**
   * Responses being sent, half of them to one credential at most: several responses may read one
   * follower (a reconnect naming it), and before 2026-12-05 one viewer's login held all eight with
   * eight requests naming its follower, every other page told to come back later for as long as it
   * renewed them.
   */
  private final io.dsfleet.coordinator.http.Turns streaming = new io.dsfleet.coordinator.http.Turns(MAX_STREAMING, MAX_STREAMING / 2,
      Duration.ZERO);

  private final LogRelay relays;
  private volatile Duration window;
  private volatile Duration idle;
  private final Map<String, Follower> followers = new ConcurrentHashMap<>();
  private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(io.dsfleet.common.DaemonThreads.named("dashboard-logs"));
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
    /** The credential of the login that opened it ("admin/NAME", "viewer/NAME"). */
    final String credential;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private long firstSeq = 1; // the number of the oldest line held
    private long bytes;
    private boolean ended;
    private String endReason = "";
    private int readers;
    final long created = System.nanoTime();
    private long unreadSince = created;
    private LogRelay.Relay relay;

    Follower(String id, String owner, String credential) {
      this.id = id;
      this.owner = owner;
      this.credential = credential;
    }

    @Override
    public boolean isReady() {
      return true; // lines never wait in the relay: the buffer here is bounded instead
    }

    @Override
    public synchronized void onNext(LogLine line) {
      String text = line.getLine();
      lines.addLast(text);
      bytes += LogRelay.heapBytes(text);
      while (bytes > MAX_BUFFERED_BYTES && lines.size() > 1) {
        bytes -= LogRelay.heapBytes(lines.removeFirst());
        firstSeq++;
      }
      notifyAll();
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
  Follower follow(Fleet fleet, String owner, String credential, LogsRequest req) {
    byte[] id = new byte[12];
    random.nextBytes(id);
    Follower f = new Follower(Base64.getUrlEncoder().withoutPadding().encodeToString(id), owner, credential);
    Follower replaced = null;
    synchronized (followers) { // the caps and the place taken in one step; the relay starts outside
      List<Follower> mine = followers.values().stream().filter(o -> o.owner.equals(owner)).sorted(java.util.Comparator.comparingLong(
          o -> o.created)).toList();
      List<Follower> credentials = followers.values().stream().filter(o -> o.credential.equals(credential))
          .sorted(java.util.Comparator.comparingLong(o -> o.created)).toList();
      if (mine.size() >= MAX_PER_LOGIN) {
        replaced = mine.stream().filter(Follower::unread).findFirst().orElseThrow(() -> new ControlException(
            Status.Code.RESOURCE_EXHAUSTED, "this login reads " + MAX_PER_LOGIN + " logs already: close one"));
        followers.remove(replaced.id);
      } else if (credentials.size() >= MAX_PER_CREDENTIAL) {
        replaced = credentials.stream().filter(Follower::unread).findFirst().orElseThrow(() -> new ControlException(
            Status.Code.RESOURCE_EXHAUSTED, "the logins of " + credential + " read " + MAX_PER_CREDENTIAL + " logs already: close one"));
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
      LogRelay.Relay r = relays.start(fleet, req.toBuilder().setFollow(true).build(), credential, f);
      boolean stopped;
      synchronized (f) {
        f.relay = r;
        stopped = f.ended;
      }
      if (stopped) {
        // stopped while the relay started (a newer page of the login replaced it, or it was reaped):
        // its stop() found no relay to cancel, and left running it would hold an agent's place and
        // the credential's share on every node until the nodes' sessions ended
        r.cancel();
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

  /**
   * A pod's log as server-sent events, from its last 200 lines on, for one window; the browser's
   * EventSource reconnects with the last line's id and the next window goes on from there. Every
   * answer is a 200 event stream, so the browser keeps reconnecting: when the streams are all
   * busy it is told to come back later; when the stream cannot be made (no such pod, too many
   * open) it gets an "end" event saying why. The caller set the dashboard's own headers.
   *
   * @param owner the login the stream is this login's (its followers, resumable by it only)
   * @param credential the login's credential ("admin/NAME", "viewer/NAME"): its logins' streams are capped together
   * @param loggedIn whether that login still holds, asked at least every 5 s
   */
  void serve(HttpExchange x, Fleet f, String owner, String credential, LogsRequest req, java.util.function.BooleanSupplier loggedIn)
      throws IOException, InterruptedException {
    x.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    io.dsfleet.coordinator.http.Turns.Turn sending = streaming.take(credential);
    if (sending == null) {
      x.sendResponseHeaders(200, 0);
      x.getResponseBody().write("retry: 5000\n\n".getBytes(StandardCharsets.UTF_8)); // busy: the same id, 5 s later
      return;
    }
    LogStreams.Follower follower = null;
    try {
      x.sendResponseHeaders(200, 0);
      var out = x.getResponseBody();
      StringBuilder events = new StringBuilder("retry: 500\n\n");
      String lastId = x.getRequestHeaders().getFirst("Last-Event-ID");
      follower = resume(lastId, owner);
      long seq = LogStreams.seqOf(lastId);
      if (follower == null || !follower.attach()) {
        try {
          follower = follow(f, owner, credential, req.toBuilder().setTailLines(200).build());
        } catch (ControlException e) {
          follower = null;
          out.write(events.append(endEvent(e.getMessage())).toString().getBytes(StandardCharsets.UTF_8));
          return;
        }
        follower.attach();
        if (lastId != null) { // the stream it had ended (unread too long, say): this one starts again from the last lines
          events.append("event: reset\ndata: the stream started again from the last lines: lines may be missing or repeated\n\n");
        }
        seq = 0;
      }
      events.append("id: ").append(follower.id).append(':').append(seq).append("\n\n"); // a stream with no line yet resumes too
      long deadline = System.nanoTime() + window.toNanos();
      while (true) {
        out.write(events.toString().getBytes(StandardCharsets.UTF_8));
        out.flush(); // also how a browser that left is noticed: a ping at least every 5 s
        events.setLength(0);
        if (System.nanoTime() >= deadline) {
          break;
        }
        LogStreams.Batch b = follower.after(seq, Math.min(deadline, System.nanoTime() + PING_NANOS));
        // checked after each wait, before its lines go out: a login that ended during the wait is
        // sent none of them (checked before the wait, the lines of up to 5 s after a revocation went out)
        if (!loggedIn.getAsBoolean()) {
          events.append(endEvent("the login ended (expired, or its credential was revoked)"));
          follower.stop();
          out.write(events.toString().getBytes(StandardCharsets.UTF_8));
          break;
        }
        if (b.missed() > 0) {
          events.append("data: [").append(b.missed()).append(" lines not shown: this page fell behind]\n\n");
        }
        long n = b.lastSeq() - b.lines().size();
        for (String line : b.lines()) {
          events.append("id: ").append(follower.id).append(':').append(++n).append("\ndata: ").append(oneLine(line)).append("\n\n");
        }
        if (b.ended()) {
          events.append(endEvent(b.endReason()));
          out.write(events.toString().getBytes(StandardCharsets.UTF_8));
          follower.stop();
          break;
        }
        if (b.lines().isEmpty() && b.missed() == 0) {
          events.append(": ping\n\n");
        }
        seq = b.lastSeq();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException gone) {
      // the browser went away; the follower ends once nobody reads it
    } finally {
      if (follower != null) {
        follower.detach();
      }
      sending.close();
    }
  }

  private static final long PING_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

  private static String endEvent(String why) {
    return "event: end\ndata: " + oneLine(why) + "\n\n";
  }

  /** One line of an event's data: a line break in it would end the field. */
  private static String oneLine(String text) {
    return text.replace('\r', ' ').replace('\n', ' ');
  }

  @Override
  public void close() {
    reaper.shutdownNow();
    followers.values().forEach(Follower::stop);
  }
}
