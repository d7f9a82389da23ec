package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredNode;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet's state as the store holds it, read once when the {@link Fleet} is made (before it
 * serves): the objects (each checked against today's rules), revisions, nodes (each given its grace
 * to reconnect), rollouts and released pods, then every node planned.
 */
final class FleetLoad {
  /** Fleet's: what a start loaded is logged under the name it always was. */
  private static final Logger log = LoggerFactory.getLogger(Fleet.class);

  /** Restart grace added per known node: the fleet reconnects at 100 nodes a second or faster. */
  static final long RESTART_MILLIS_PER_NODE = 10;

  private final FleetState state;
  private final Store store;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final FleetOptions options;
  private final NodeLifecycle lifecycle;
  private final Dispatcher dispatcher;

  FleetLoad(FleetState state, Store store, Clock clock, LongSupplier nanoTime, FleetOptions options, NodeLifecycle lifecycle,
      Dispatcher dispatcher) {
    this.state = state;
    this.store = store;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.options = options;
    this.lifecycle = lifecycle;
    this.dispatcher = dispatcher;
  }

  /**
   * An object stored under older rules loads as it was accepted (its DaemonSet runs as before);
   * the operator is told what it breaks now. A ConfigMap's or Secret's problems name keys, never
   * values.
   */
  private static void warnIfRulesChanged(StoredObject o, io.dsfleet.common.model.KubeObject parsed) {
    var problems = ManifestParser.problems(parsed);
    if (!problems.isEmpty()) {
      log.warn("{} {}/{} as stored does not pass today's validation: {}; it is used as stored, apply it corrected", o.kind(),
          o.namespace(), o.name(), problems);
    }
  }

  void load() {
    Instant now = clock.instant();
    for (StoredObject o : store.objects()) {
      if (o.kind().equals("DaemonSet")) {
        DsEntry e = new DsEntry();
        e.stored = o;
        e.ds = (DaemonSet) ManifestParser.parseOne(o.json());
        warnIfRulesChanged(o, e.ds);
        state.daemonSets.put(FleetState.key(o.namespace(), o.name()), e);
      } else {
        try {
          warnIfRulesChanged(o, ManifestParser.parseOne(o.json()));
        } catch (IllegalArgumentException unreadable) {
          log.warn("{} {}/{} as stored cannot be read today: {}; it is sent as stored, apply it again", o.kind(), o.namespace(), o.name(),
              unreadable.getMessage());
        }
        state.configs.put(FleetState.configKey(o.kind(), o.namespace(), o.name()), o);
      }
    }
    for (StoredRevision r : store.revisions()) {
      DsEntry e = state.daemonSets.get(FleetState.key(r.namespace(), r.name()));
      if (e != null) {
        Catalog.addRevision(e, r);
      } else { // of a DaemonSet deleted with orphan, run by its released pods (OrphanedRevisions)
        state.orphanedRevisions.computeIfAbsent(FleetState.key(r.namespace(), r.name()), k -> new java.util.TreeMap<>()).put(r.revision(), r);
      }
    }
    List<StoredNode> storedNodes = store.nodes();
    // an agent that backed off while no coordinator answered tries again within its longest
    // back-off, and every agent reconnects at once (a TLS handshake, a session, its desired set
    // each): allow that, and 100 reconnects a second, on top of the heartbeat grace (measured:
    // docs/benchmarks.md)
    long returnMillis = io.dsfleet.common.Reconnects.longestReturn().toMillis();
    long stormMillis = storedNodes.size() * RESTART_MILLIS_PER_NODE;
    for (StoredNode n : storedNodes) {
      NodeEntry node = NodeEntry.load(n);
      // A restarted coordinator gives every node that was Ready a full grace period to reconnect
      // before calling it NotReady, so a coordinator restart never turns the fleet NotReady; a
      // node that was NotReady stays so, with its times, until it is heard from.
      node.leaseDeadlineNanos = lifecycle.leaseDeadline(returnMillis + stormMillis);
      node.heardSinceStart = false;
      node.silentAtLeastSince = node.notReadySince != null && node.notReadySince.isBefore(now) ? node.notReadySince : now;
      node.reportedSinceStart = false;
      if (node.notReadySince != null) { // its NotReady age as the wall clock says now, bounded (a wild clock overflows nothing)
        long ageMillis = Math.max(0, Math.min(Duration.between(node.notReadySince, now).toMillis(), 2 * options.nodeGcAfter().toMillis()));
        node.notReadySinceNanos = nanoTime.getAsLong() - ageMillis * 1_000_000L;
      }
      state.nodes.put(n.name(), node);
    }
    lifecycle.restarted(stormMillis, returnMillis);
    Map<String, String> rollouts = store.rollouts();
    state.daemonSets.forEach((k, e) -> {
      String hash = e.current().hash();
      String json = rollouts.get(k);
      RolloutState r = json == null ? RolloutState.start(hash, now.toEpochMilli()) : RolloutState.fromJson(json, hash, now.toEpochMilli());
      e.rollout = r.hash().equals(hash) ? r : r.next(hash, now.toEpochMilli());
      e.liveWhenLoaded = e.rollout.live();
    });
    for (Store.Orphan o : store.orphans()) {
      NodeEntry n = state.nodes.get(o.node());
      if (n != null) {
        n.orphans.add(o.pod());
      }
    }
    state.refreshDsInfos();
    for (NodeEntry n : state.nodes.values()) {
      dispatcher.replan(n, now);
    }
    log.info("loaded {} DaemonSets, {} ConfigMaps/Secrets, {} nodes (schema version {})",
        state.daemonSets.size(), state.configs.size(), state.nodes.size(), store.schemaVersion());
  }
}
