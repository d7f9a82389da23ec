package io.dsfleet.agent.session;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.SessionOpen;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the session takes in a desired set: the pods it releases written first; a set that only adds
 * pods to the one on disk acted on while it is written (the new pods' Docker calls do not wait for
 * the disk's sync); any other written first, so no pod is stopped, replaced or taken back on the
 * strength of a set that is not on disk (docs/agent.md, "Static stability"). Unless the disk
 * refuses it (full, failing, read-only): then the set is acted on all the same and written again
 * until a write succeeds ({@link #writeAgain}), since a node that takes no change while its disk
 * is full can never be given the one that frees it (a review's pod filled the disk and the node
 * took nothing more, the deletion of that pod included). An agent restarted before the write
 * succeeds starts from the older set on disk, until its coordinator answers. A set from another
 * coordinator store than the last one's releases the pods it drops rather than remove them
 * ({@link StoreChange}). One set at a time: the session's calls come one after another.
 */
final class DesiredSets {
  private static final Logger log = LoggerFactory.getLogger(DesiredSets.class);
  private final LocalState state;
  private final Reconciler reconciler;
  /** The set acted on that the disk refused, until a write of it or a newer one succeeds; null when none. */
  private DesiredState unwritten;
  /** Why the disk refused the set that waits, or "". */
  private volatile String writeError = "";
  /** Released pods the disk refused: written (as the reconciler holds them then) before any set, which must never be on disk without them. */
  private boolean orphansUnwritten;
  /** The set taken last (written or not); null until one is, the set on disk standing for it then. */
  private DesiredState last;

  DesiredSets(LocalState state, Reconciler reconciler) {
    this.state = state;
    this.reconciler = reconciler;
  }

  /**
   * Acts on {@code d} and writes it. Returns false when the disk refused the write: the set is
   * acted on all the same, and {@link #writeAgain} must follow; it is acknowledged only once
   * written (the coordinator forgets released pods on an acknowledgement: an agent restarted
   * before the write would take back a released pod from the older set on disk and stop it).
   * Released pods are known to the reconciler before the set is acted on (a released pod is never
   * taken for one no longer desired) and written before the set: one the disk refuses holds the
   * set's write back with it (a set on disk without its release would have a restarted agent stop
   * the released pods), and both are written again until the disk takes them.
   */
  synchronized boolean take(DesiredState d) {
    java.util.List<String> releases = ReleasedPods.of(d);
    if (!releases.isEmpty()) {
      Set<String> orphans = new java.util.TreeSet<>(reconciler.orphans()); // memory is the truth; the file follows it
      if (orphans.addAll(releases)) {
        reconciler.setOrphans(orphans);
        orphansUnwritten = true; // written with the set, first
        log.info("released pods {}: their containers keep running, unmanaged", releases);
      }
    }
    DesiredState before = last != null ? last : state.written().orElse(null);
    java.util.List<String> dropped = StoreChange.dropped(before, d, reconciler.orphans());
    if (!dropped.isEmpty()) {
      Set<String> orphans = new java.util.TreeSet<>(reconciler.orphans());
      orphans.addAll(dropped);
      reconciler.setOrphans(orphans);
      orphansUnwritten = true;
      log.error("desired set version {} comes from another coordinator store ({}) than this node's last set ({}): a restore from"
          + " a backup, or a new store (the wrong data directory?); the pods it drops are released, not removed, and keep"
          + " running unmanaged: {}. If the store is the right one, apply their DaemonSets again (each adopts its pods) and"
          + " delete them to remove them; if not, put the right store back", d.getVersion(), d.getStoreId(), before.getStoreId(),
          dropped);
    }
    last = d;
    if (d.getPodsList().stream().anyMatch(p -> ReleasedPods.holds(reconciler.orphans(), ReleasedPods.key(p.getNamespace(), p.getPodName()),
        p.getPodName()))) {
      orphansUnwritten = true; // a released pod desired again: the file follows the adoption with the set (its own write may fail)
    }
    DesiredState onDisk = state.written().orElse(null);
    // while the disk refuses writes, a set is tried on it first (and acted on when it refuses)
    boolean early = unwritten == null && !orphansUnwritten && onDisk != null && onlyAdds(onDisk, d, reconciler.orphans());
    if (early) {
      reconciler.setDesired(d);
    }
    boolean written = write(d);
    if (!early) {
      reconciler.setDesired(d);
    }
    return written;
  }

  /**
   * Writes the set the disk refused last, if one waits: the set now written, to be acknowledged;
   * null when the disk refused it again, or when none waited (a later set was written meanwhile).
   */
  synchronized DesiredState writeAgain() {
    DesiredState d = unwritten;
    return d != null && write(d) ? d : null;
  }

  /** Whether a set the disk refused waits to be written. */
  synchronized boolean waiting() {
    return unwritten != null;
  }

  /**
   * The session's open: the node, and the set it runs ({@code held}), so a coordinator that would send that very set
   * sends nothing (after its restart, 10,000 agents were each sent their whole set again). The set the reconciler was
   * given, not the one on disk: a start that left the saved set aside ({@code QuickStarts}) names none, and is sent it.
   * Logged: a coordinator that sends nothing leaves no "desired set version" line in the journal.
   */
  static SessionOpen open(String node, io.dsfleet.agent.reconcile.HeldSet held) {
    log.info("session open; this node runs desired set version {} (the coordinator sends a set only if it is not this one)",
        held.version());
    return SessionOpen.newBuilder().setNodeName(node).setAppliedVersion(held.version()).setHeldDigest(held.digest()).build();
  }

  /** Why the last write failed while a set waits to be written, for the coordinator ({@code Heartbeat.state_write_error}); "" otherwise. */
  String writeError() {
    return writeError;
  }

  private boolean write(DesiredState d) {
    try {
      if (orphansUnwritten) {
        state.saveOrphans(reconciler.orphans()); // as they are now: a pod adopted meanwhile is not released again
        orphansUnwritten = false;
      }
      state.saveDesired(d);
      if (unwritten != null) {
        log.info("desired set version {} written; the state directory takes writes again", d.getVersion());
      }
      unwritten = null;
      writeError = "";
      return true;
    } catch (RuntimeException e) {
      if (unwritten == null) {
        log.error("cannot write desired set version {} into the state directory: {}; acting on it all the same, and"
            + " writing it again every few seconds (an agent restarted before that starts from version {} on disk until the"
            + " coordinator answers)", d.getVersion(), e.getCause() != null ? e.getCause().toString() : e.toString(),
            state.written().map(DesiredState::getVersion).orElse(0L));
      }
      io.dsfleet.agent.metrics.AgentCounters.STATE_WRITE_FAILURES.inc();
      writeError = "desired set version " + d.getVersion() + " not written: " + (e.getCause() != null ? e.getCause().toString() : e.toString());
      unwritten = d;
      return false;
    }
  }

  /**
   * Whether {@code next} only adds pods to {@code onDisk}: every pod and config object of it is in
   * {@code next} unchanged, no config object is added in a namespace where it has a pod (a pod's
   * volumes follow every ConfigMap and Secret of its namespace), at least one pod is new, none of
   * the new ones is a released pod taken back, and {@code next} releases none {@code onDisk} did not
   * (a coordinator sends the node's released pods in every set). Such a set may be
   * acted on before it is written: a crash in between costs only the new pods (the set on disk
   * does not have them), never a running one.
   */
  static boolean onlyAdds(DesiredState onDisk, DesiredState next, Set<String> released) {
    if (!new HashSet<>(ReleasedPods.of(onDisk)).containsAll(ReleasedPods.of(next)) || next.getPodsCount() <= onDisk.getPodsCount()) {
      return false;
    }
    Map<String, DesiredPod> now = new HashMap<>();
    for (DesiredPod p : next.getPodsList()) {
      now.put(p.getNamespace() + "/" + p.getPodName(), p);
    }
    for (DesiredPod p : onDisk.getPodsList()) {
      if (!p.equals(now.remove(p.getNamespace() + "/" + p.getPodName()))) {
        return false;
      }
    }
    if (now.values().stream().anyMatch(p -> ReleasedPods.holds(released, ReleasedPods.key(p.getNamespace(), p.getPodName()), p.getPodName()))) {
      return false;
    }
    Set<ConfigObject> before = new HashSet<>(onDisk.getConfigsList());
    if (!new HashSet<>(next.getConfigsList()).containsAll(before)) {
      return false;
    }
    Set<String> running = new HashSet<>();
    onDisk.getPodsList().forEach(p -> running.add(p.getNamespace()));
    return next.getConfigsList().stream().noneMatch(c -> !before.contains(c) && running.contains(c.getNamespace()));
  }
}
