package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.metrics.CoordinatorMetrics;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatusReport;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's state and the rules that change it, behind one lock. This class wires the
 * parts and takes the lock for every write but a heartbeat's renewal of a lease ({@link #renew},
 * invariant 3) and a tick's write of the events to the store ({@link #tick}); what is read of the
 * fleet, and the state and lock themselves, are {@link FleetReads}'s, and the state as stored is
 * read at start by {@link FleetLoad}. Each rule lives in its own class (docs/coordinator.md has the map): {@link Catalog}
 * (apply, delete, revisions), {@link NodeRegistry} (joins, sessions), {@link NodeSettings} (what
 * dsctl sets on nodes), {@link NodeLifecycle} (leases, NotReady, garbage collection), {@link
 * PodIntake} (pod reports), {@link DaemonSetController} (rollouts, paced by {@link RolloutPacing}),
 * {@link Dispatcher} (plans and desired sets), {@link Events}.
 *
 * <p>Invariants: (1) a write is in the store before the request that made it is acknowledged,
 * and memory changes only after the store committed; (2) a node is sent a DesiredState only when
 * its content (pods, their templates, the configs they use) changed, or when its session opens;
 * (3) heartbeats touch memory only, never the store, and take the lock only when the node changes
 * condition (then it is planned again); (4) leases are issued and expired on the injected clock.
 */
public final class Fleet extends FleetReads {
  private static final Logger log = LoggerFactory.getLogger(Fleet.class);

  private final Dispatcher dispatcher;
  private final DaemonSetController controller;
  private final Catalog catalog;
  private final NodeLifecycle lifecycle;
  private final NodeRegistry registry;
  private final NodeSettings settings;
  private final PodIntake intake;

  private final RolloutPacing pacing;

  /**
   * @param clock wall time: what people read, taint times, deadlines of rollouts
   * @param nanoTime the monotonic clock leases run on ({@code System::nanoTime} in production)
   */
  public Fleet(Store store, Clock clock, LongSupplier nanoTime, FleetOptions options, Random random) {
    super(store, clock, nanoTime, options);
    this.pacing = new RolloutPacing(nanoTime, changes::get);
    this.dispatcher = new Dispatcher(state, events, clock.millis() * 1000, store.identity(), nanoTime);
    this.controller = new DaemonSetController(state, store, events, dispatcher, nanoTime);
    this.catalog = new Catalog(state, store, clock, nanoTime, options, events, this::committed);
    this.controller.rollbackWith((ns, name, after) ->
        catalog.apply(catalog.parse(catalog.undoManifest(ns, name, 0, 0), "automatic rollback"), false, after));
    this.lifecycle = new NodeLifecycle(state, store, options, random, nanoTime, events, dispatcher);
    NodeWrites writes = new NodeWrites(store, lifecycle);
    this.registry = new NodeRegistry(state, store, clock, events, dispatcher, lifecycle, writes);
    this.settings = new NodeSettings(state, clock, events, dispatcher, writes);
    dispatcher.onGrantsChanged(registry::writeGrants, lifecycle::grantsChanged);
    this.intake = new PodIntake(state, store, dispatcher, events);
    dispatcher.onOrphansAdopted(intake::adopted);
    new FleetLoad(state, store, clock, nanoTime, options, lifecycle, dispatcher).load();
  }

  // ------------------------------------------------------------------ nodes

  /** A node (re-)joins; see {@link NodeRegistry#join}: what scheduling reads stays as admitted. Idempotent. */
  public void join(NodeInfo info, String leaveSecretSha256, boolean register) {
    synchronized (lock) {
      changes.bump();
      registry.join(info, leaveSecretSha256, register);
    }
  }

  /**
   * A join by token: {@code credential}, told whether the name is taken (a member, and not the
   * same agent asking again), issues the node's credential (naming the admitting token) or
   * throws; under the lock, so two joins for one new name cannot both be admitted. The same agent
   * is the one that knows the member's leave secret: its first join was admitted but the answer
   * was lost (a deadline, a cut connection), and without this it could never join again. Only
   * while that answer's certificate was never presented and no admin revoked the node's: root on a
   * node holds its token and secret, and must not undo a revocation or outlive a lost {@code pki/}.
   * Returns what {@code credential} issued; {@code tokenOf} says which token it was issued with and
   * the token's count of uses that admission counted (stored in the node's write, {@link
   * io.dsfleet.coordinator.store.Store#admitNode}); {@code notRegistered} is told what was issued
   * for a node whose registration the store then refused (nothing written), to take back its
   * token's use in memory.
   */
  public <C> C admit(NodeInfo info, String leaveSecretSha256, String leaveSecret, Credential<C> credential,
      java.util.function.Function<C, io.dsfleet.coordinator.store.Store.TokenUse> tokenOf, java.util.function.Consumer<C> notRegistered) {
    // checked and hashed before the lock: a join's secret is up to a message's 4 MiB (40 ms to hash
    // here), and a holder of a used-up token looping joins for the name it admitted held the lock
    // for each one's hash
    NodeInfoRules.requireAdmissible(info);
    byte[] presented = leaveSecret.isEmpty() ? null
        : io.dsfleet.common.Sha256.hex(leaveSecret).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    synchronized (lock) {
      NodeEntry existing = state.nodes.get(info.getName());
      boolean ownSecret = existing != null && presented != null && !existing.leaveSecretSha256.isEmpty()
          && java.security.MessageDigest.isEqual(presented, existing.leaveSecretSha256.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      boolean sameAgent = ownSecret && existing.readmitsBySecret;
      C issued = credential.issue(existing != null && !sameAgent, sameAgent ? existing.admittedBy : "", ownSecret);
      changes.bump();
      try {
        registry.admitted(info, leaveSecretSha256, tokenOf.apply(issued), existing != null, sameAgent, ownSecret);
      } catch (ControlException e) {
        if (e.writeRefused()) { // only then: a node that did register (or may have) keeps what it was issued, its token's use included
          try {
            notRegistered.accept(issued);
          } catch (RuntimeException undo) {
            e.addSuppressed(undo);
          }
        }
        throw e;
      }
      return issued;
    }
  }

  /** What issues a joining node its credential. */
  @FunctionalInterface
  public interface Credential<C> {
    /**
     * @param member the name is a member's (only a token scoped to it re-admits it)
     * @param retryOf the token that admitted the name when this is the same agent again (its answer
     *     lost), else empty: that token's use was counted by the admission being retried
     * @param ownSecret the join showed the member's own leave secret (its agent, or root on its host)
     */
    C issue(boolean member, String retryOf, boolean ownSecret);
  }

  /** An admin revokes the node's certificates: call before revoking, so no join by its leave secret slips in between. */
  public void revokingNode(String nodeName) {
    synchronized (lock) {
      changes.bump();
      registry.revokedByAdmin(nodeName);
    }
  }

  /** A certificate issued for a node: an event {@code describe node} shows. */
  public void securityEvent(String nodeName, String reason, String message) {
    securityEvent(nodeName, "Normal", reason, message);
  }

  /** An event of {@code type} on the node; its caller bounds how often (the agent's budgets do not). */
  public void securityEvent(String nodeName, String type, String reason, String message) {
    synchronized (lock) {
      changes.bump();
      events.record(Events.nodeKey(nodeName), type, reason, message);
    }
  }

  /**
   * Opens a node's session: attaches the sink, marks the node alive, sends its full desired set once it has reported,
   * unless the agent holds that set: the set of digest {@code held} ({@link SetDigest}; null: none) at {@code heldVersion}.
   *
   * @throws ControlException NOT_FOUND when the node is unknown (the agent must join again)
   */
  public void openSession(String nodeName, AgentSink sink, String held, long heldVersion) {
    synchronized (lock) {
      changes.bump();
      registry.openSession(nodeName, sink, held, heldVersion);
    }
  }

  /** Detaches a session that ended; the node stays Ready until its lease runs out. */
  public void sessionClosed(String nodeName, AgentSink sink) {
    synchronized (lock) {
      changes.bump();
      registry.sessionClosed(nodeName, sink);
    }
  }

  /**
   * A heartbeat: memory only, and without the lock unless it changes the node's condition (see
   * {@link NodeLifecycle#renew}); views show the new heartbeat time from the next sweep on. Returns
   * false when the node is unknown. See {@link NodeLifecycle#heartbeat}.
   */
  public boolean heartbeat(String nodeName, boolean runtimeDown, String runtimeMessage) {
    return heartbeat(nodeName, runtimeDown, runtimeMessage, "");
  }

  /** A heartbeat that also says whether the agent's state directory takes writes ({@code stateWriteError}: why not, or ""). */
  public boolean heartbeat(String nodeName, boolean runtimeDown, String runtimeMessage, String stateWriteError) {
    if (renew(nodeName, runtimeDown, stateWriteError)) {
      return true;
    }
    synchronized (lock) {
      changes.bump();
      return lifecycle.heartbeat(nodeName, runtimeDown, runtimeMessage, stateWriteError, clock.instant());
    }
  }

  /**
   * A heartbeat's lock-free part ({@link NodeLifecycle#renew}): true when it was all there was to
   * do, false when {@link #heartbeat} must run (the node is unknown or changes condition).
   */
  public boolean renew(String nodeName, boolean runtimeDown, String stateWriteError) {
    return lifecycle.renew(nodeName, runtimeDown, stateWriteError, clock.instant());
  }

  /** Runs {@code work} (calls of this class) under one hold of the lock: many session messages for one hand-off. */
  public void batch(Runnable work) {
    synchronized (lock) {
      work.run();
    }
  }

  public void reportPods(String nodeName, PodStatusReport report) {
    synchronized (lock) {
      changes.bump();
      Instant now = clock.instant();
      if (intake.report(nodeName, report, now)) {
        pacing.due();
      }
    }
  }

  /**
   * The agent leaves ({@link NodeRegistry#leave}); {@code revoke} runs after the secret's check,
   * before the removal. A wrong secret is refused before the lock, the secret hashed without it: a
   * copy of the node's certificate calling Leave in a loop (a secret of up to a message's 4 MiB)
   * took the lock at each call and moved the fleet's version, rebuilding every watcher's view.
   */
  public void leave(String nodeName, String leaveSecret, Runnable revoke) {
    String presented = io.dsfleet.common.Sha256.hex(leaveSecret);
    registry.requireLeaveSecret(nodeName, presented);
    synchronized (lock) {
      changes.bump();
      registry.leave(nodeName, presented, revoke);
    }
  }

  public void removeNode(String nodeName) {
    synchronized (lock) {
      changes.bump();
      registry.removeNode(nodeName);
    }
  }

  /** Expires leases and collects dead nodes, with a rollout pass when one is due; the server's scheduler calls it each second. */
  public void tick() {
    synchronized (lock) {
      long before = changes.get();
      changes.bump();
      Instant now = clock.instant();
      long replans = dispatcher.replans();
      List<String> expired = lifecycle.tick(now);
      for (String name : expired) {
        registry.remove(name, "NotReady for longer than " + options.nodeGcAfter());
        CoordinatorMetrics.NODE_REMOVALS.labelValues("expired").inc();
      }
      // a pass, paced as every other one, when the fleet changed or time alone may move a rollout (RolloutPacing.swept)
      pacing.swept(before, !expired.isEmpty() || dispatcher.replans() != replans, controller.timeMoves());
      rolloutPass();
      pacing.seen();
    }
    // outside the fleet's lock: at 10,000 nodes an apply records thousands of events, and their
    // write (a transaction, a round of the group when replicated) held every report behind it
    if (events.flush()) {
      // the store takes writes again after refusing them: a rollout pass backing off since (up to
      // 5 min) is tried now. Before, rolling updates stalled that long after the disk was fine.
      synchronized (lock) {
        controller.storeTakesWrites();
        pacing.due();
      }
    }
  }

  /** Writes what waits for the disk (events, node conditions): on a clean shutdown. */
  public void flush() {
    synchronized (lock) {
      lifecycle.flush();
      events.flush();
    }
  }

  /** Sets and removes dsctl labels; see docs/coordinator.md for how they combine with the agent's. */
  public void labelNode(String nodeName, Map<String, String> set, List<String> remove, boolean overwrite) {
    synchronized (lock) {
      changes.bump();
      settings.label(nodeName, set, remove, overwrite);
    }
  }

  /** A taint to remove: its key, and its effect or "" for every effect of the key (kubectl's {@code key-}). */
  public record TaintRemoval(String key, String effect) {
    @Override
    public String toString() {
      return key + (effect.isEmpty() ? "" : ":" + effect) + "-";
    }
  }

  public void taintNode(String nodeName, List<Taint> add, List<TaintRemoval> remove, boolean overwrite) {
    synchronized (lock) {
      changes.bump();
      settings.taint(nodeName, add, remove, overwrite);
    }
  }

  public void cordon(String nodeName, boolean unschedulable) {
    synchronized (lock) {
      changes.bump();
      settings.cordon(nodeName, unschedulable);
    }
  }

  // ------------------------------------------------------------------ rollouts

  /**
   * Runs a rolling-update pass if something changed since the last one (a pod report, an apply, a
   * pause), and no sooner than four times the last pass's own walk after it ended (a second at
   * most): a pass walks every node, so on a large fleet this keeps those walks to a fifth of the
   * coordinator's time at most. Sending the nodes it moved their new sets is not counted: that is the rollout itself, done
   * once per node and revision, and counting it held the next nodes of a rolling update back by
   * four times the last ones' sending. The server calls it every 20 ms, and {@link #tick()} asks
   * for one every tick, for what time alone moves. Before, a tick walked every node of every
   * DaemonSet outside this pacing: 7 % of the coordinator's CPU over a 10,000-node apply, twice
   * what the paced passes took (docs/benchmarks.md).
   */
  public void rolloutPass() {
    synchronized (lock) {
      pacing.passIfDue(() -> {
        changes.bump();
        return controller.pass(clock.instant());
      });
    }
  }

  /**
   * Whether a change waits for a rollout pass; false once a pass has run after the last change, so
   * a test that checks "nothing moved" waits for that instead of sleeping.
   */
  public boolean rolloutPassPending() {
    synchronized (lock) {
      return pacing.waiting();
    }
  }

  /** {@link #rolloutPassPending} without the lock, for a metrics scrape: never waits behind a pass. */
  public boolean rolloutPassWaiting() {
    return pacing.waiting();
  }

  /** Pauses or resumes a DaemonSet's rollout; resuming also clears a failure. */
  public void pause(String namespace, String name, boolean paused) {
    synchronized (lock) {
      changes.bump();
      controller.pause(namespace, name, paused, clock.instant());
      pacing.due();
    }
  }

  /**
   * Deletes a DaemonSet's pod on its node: the node then gets the DaemonSet's current revision
   * (how OnDelete updates move on). A pod that already runs the current revision is refused.
   */
  public String deletePod(String namespace, String podName) {
    synchronized (lock) {
      changes.bump();
      return controller.deletePod(namespace, podName, clock.instant());
    }
  }

  // ------------------------------------------------------------------ objects

  /** The outcome of one object of an apply. */
  public record ApplyResult(String kind, String namespace, String name, String action, String note) {}

  public record ApplyOutcome(List<ApplyResult> results, List<String> warnings) {}

  /** Applies manifests all or nothing; see {@link Catalog#apply}. */
  public ApplyOutcome apply(String text, String source, boolean dryRun) {
    var docs = catalog.parse(text, source);
    synchronized (lock) {
      changes.bump();
      return catalog.apply(docs, dryRun);
    }
  }

  /**
   * Creates objects: as {@link #apply}, but refused (ALREADY_EXISTS, nothing applied) when any of
   * them exists already, checked under the lock the apply takes (a POST of the Kubernetes API).
   */
  public ApplyOutcome create(String text, String source, boolean dryRun) {
    return applyIf(text, source, dryRun, false);
  }

  /**
   * Changes objects: as {@link #apply}, but refused (NOT_FOUND, nothing applied) when any of them
   * does not exist, checked under the lock (a PUT or PATCH: a delete in between is not undone).
   */
  public ApplyOutcome update(String text, String source, boolean dryRun) {
    return applyIf(text, source, dryRun, true);
  }

  private ApplyOutcome applyIf(String text, String source, boolean dryRun, boolean mustExist) {
    var docs = catalog.parse(text, source);
    synchronized (lock) {
      for (var d : docs) {
        if (d.object() != null && catalog.exists(d.object()) != mustExist) {
          throw new ControlException(mustExist ? Status.Code.NOT_FOUND : Status.Code.ALREADY_EXISTS, d.object().kind() + " "
              + d.object().namespace() + "/" + d.object().name() + (mustExist ? " does not exist" : " already exists"));
        }
      }
      changes.bump();
      return catalog.apply(docs, dryRun);
    }
  }

  /** An apply's dry run with each object's plan (null for a skipped document), in the order of the results. */
  public record PlanOutcome(ApplyOutcome outcome, List<ApplyPlan.Plan> plans) {}

  /**
   * What applying the manifests would do ({@link ApplyPlan}): validated as an apply is, on the fleet
   * as it is now; nothing stored, nothing sent.
   */
  public PlanOutcome plan(String text, String source) {
    var docs = catalog.parse(text, source);
    ApplyOutcome outcome;
    List<ApplyPlan.Pending> pending = new ArrayList<>();
    synchronized (lock) {
      outcome = catalog.apply(docs, true);
      Instant now = clock.instant();
      for (var d : docs) {
        pending.add(d.skipped() ? null : ApplyPlan.of(d.object(), state, now));
      }
    }
    List<ApplyPlan.Plan> plans = new ArrayList<>();
    pending.forEach(p -> plans.add(p == null ? null : p.finish())); // the diffs, without the lock
    return new PlanOutcome(outcome, plans);
  }

  /**
   * Rolls back to an earlier revision's template (0: the one before the current), which becomes a
   * new revision, as `kubectl rollout undo` does.
   */
  public ApplyOutcome undo(String namespace, String name, long toRevision, long expectedResourceVersion) {
    synchronized (lock) {
      changes.bump();
      return catalog.apply(catalog.parse(catalog.undoManifest(namespace, name, toRevision, expectedResourceVersion), "rollout undo"), false);
    }
  }

  /**
   * Deletes a DaemonSet. With cascade, every node's pod of it is removed; with orphan, the
   * DaemonSet's record goes but agents are told to leave its containers running unmanaged.
   */
  public void deleteDaemonSet(String namespace, String name, boolean cascade) {
    synchronized (lock) {
      changes.bump();
      catalog.deleteDaemonSet(namespace, name, cascade);
    }
  }

  public void deleteConfig(String kind, String namespace, String name) {
    synchronized (lock) {
      changes.bump();
      catalog.deleteConfig(kind, namespace, name);
    }
  }

  /**
   * After the catalog committed a change: every node planned again, a rollout pass due. The change
   * is acknowledged whatever happens here: a failure is logged, and the next pass or tick plans
   * again.
   */
  private void committed() {
    try {
      dispatcher.replanAll(clock.instant());
    } catch (RuntimeException e) {
      log.error("planning after a committed change failed; the next pass plans again", e);
    }
    pacing.due();
  }

  /** A stored ConfigMap or Secret as it travels on the wire (values decoded from base64). */
  public static ConfigObject configObject(StoredObject o) {
    return Dispatcher.configObject(o);
  }

  // ------------------------------------------------------------------ names

  public static String key(String namespace, String name) {
    return FleetState.key(namespace, name);
  }

  /** @throws ControlException INVALID_ARGUMENT unless the name is a valid node name (an RFC 1123 subdomain) */
  public static void requireName(String name) {
    NodeInfoRules.requireName(name);
  }
}
