package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.manifest.Problem;
import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.model.ObjectMeta;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.common.model.Secret;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.coordinator.store.StoreException;
import io.grpc.Status;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * The object catalog: apply (all or nothing, with resourceVersion compare-and-set and immutable
 * fields), delete, and a DaemonSet's revision history (a new revision when the pod template
 * changes; undo to a kept one). Every write is in the store before memory changes.
 */
final class Catalog {
  private static final String CHANGE_CAUSE = "kubernetes.io/change-cause";

  private final FleetState state;
  private final Store store;
  private final Clock clock;
  private final FleetOptions options;
  private final Events events;
  private final Runnable committed;
  /** The bound on each node's desired set that an apply may not grow it past. */
  private final DesiredSetBound desiredSets = new DesiredSetBound();
  private final LongSupplier nanoTime;

  /**
   * @param committed called after a committed change (every node is planned again); it never throws
   * @param nanoTime the monotonic clock a carried node's unsure report is timed on ({@link DsEntry#unsure})
   */
  Catalog(FleetState state, Store store, Clock clock, LongSupplier nanoTime, FleetOptions options, Events events, Runnable committed) {
    this.state = state;
    this.store = store;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.options = options;
    this.events = events;
    this.committed = committed;
  }

  /**
   * Applies manifests all or nothing: every document is parsed and validated, every change
   * checked (selector immutability, resource version), then all writes go to the store in one
   * compare-and-set transaction (each object against the resourceVersion this coordinator holds),
   * and only then to memory and the agents.
   */
  Fleet.ApplyOutcome apply(List<ParsedDocument> docs, boolean dryRun) {
    return apply(docs, dryRun, null);
  }

  /**
   * @param rollback for the automatic rollback of a failed revision: the DaemonSet's rollout state
   *     after it (written with the new revision, so a crash cannot roll back twice); null otherwise
   */
  Fleet.ApplyOutcome apply(List<ParsedDocument> docs, boolean dryRun, java.util.function.UnaryOperator<RolloutState> rollback) {
    List<String> warnings = new ArrayList<>();
    docs.forEach(d -> d.warnings().forEach(w -> warnings.add(d.label() + ": " + w)));
    long now = clock.millis();
    List<ObjectWrite> writes = new ArrayList<>();
    List<KubeObject> written = new ArrayList<>(); // each write's object: its stored JSON parses back to it (AppliedAsLoadedTest)
    List<Fleet.ApplyResult> results = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (ParsedDocument d : docs) {
      if (d.skipped()) {
        results.add(new Fleet.ApplyResult(d.kind(), "", d.name(), "skipped", d.skipNote()));
        continue;
      }
      KubeObject o = d.object();
      if (!seen.add(o.kind() + "/" + o.namespace() + "/" + o.name())) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, d.label() + ": the same object appears twice in one apply");
      }
      String requestedRv = o.metadata().resourceVersion();
      KubeObject clean = withoutResourceVersion(o);
      String json = Json.canonical(clean);
      StoredObject existing = o instanceof DaemonSet
          ? Optional.ofNullable(state.daemonSets.get(FleetState.key(o.namespace(), o.name()))).map(e -> e.stored).orElse(null)
          : state.configs.get(FleetState.configKey(o.kind(), o.namespace(), o.name()));
      if (requestedRv != null && !requestedRv.isEmpty()
          && (existing == null || !requestedRv.equals(String.valueOf(existing.resourceVersion())))) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, d.label() + ": metadata.resourceVersion " + requestedRv
            + " is stale (current: " + (existing == null ? "none, the object does not exist" : existing.resourceVersion())
            + "); read the object again (dsctl get -o yaml shows it) and retry");
      }
      if (existing != null && existing.json().equals(json)) {
        results.add(new Fleet.ApplyResult(o.kind(), o.namespace(), o.name(), "unchanged", null));
        continue;
      }
      long expected = existing == null ? 0 : existing.resourceVersion();
      if (o instanceof DaemonSet ds) {
        writes.add(daemonSetWrite(ds, json, existing, expected, now, d.label(), rollback));
        written.add(clean);
      } else {
        List<String> frozen = existing == null ? List.of() : frozen(existing, o);
        if (!frozen.isEmpty()) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, d.label() + ": " + String.join("; ", frozen));
        }
        writes.add(new ObjectWrite(new StoredObject(o.kind(), o.namespace(), o.name(), json, 1, 0,
            existing == null ? now : existing.createdAtMillis()), expected, null, List.of(), null));
        written.add(clean);
      }
      results.add(new Fleet.ApplyResult(o.kind(), o.namespace(), o.name(), existing == null ? "created" : "configured", null));
    }
    if (rollback == null) { // an automatic rollback goes back to a set its nodes held
      List<DaemonSet> daemonSets = new ArrayList<>();
      List<StoredObject> configs = new ArrayList<>();
      for (int i = 0; i < writes.size(); i++) {
        if (written.get(i) instanceof DaemonSet ds) {
          daemonSets.add(ds);
        } else {
          configs.add(writes.get(i).object());
        }
      }
      desiredSets.check(state, daemonSets, configs, java.time.Instant.ofEpochMilli(now));
    }
    if (dryRun || writes.isEmpty()) {
      return new Fleet.ApplyOutcome(results, warnings);
    }
    Store.Written stored;
    try {
      stored = store.putObjects(writes);
    } catch (Store.ConflictException e) {
      throw new ControlException(Status.Code.ABORTED, "the store holds a newer version, nothing applied: " + e.getMessage());
    } catch (StoreException e) {
      throw new ControlException(Status.Code.UNAVAILABLE, e.outcome("nothing applied") + ": " + e.getMessage());
    }
    for (int i = 0; i < writes.size(); i++) {
      remember(writes.get(i), written.get(i), stored.objects().get(i), stored.revisions().get(i));
    }
    committed.run();
    return new Fleet.ApplyOutcome(results, warnings);
  }

  /** Whether the catalog holds this object (its kind, namespace and name). */
  boolean exists(KubeObject o) {
    return o instanceof DaemonSet ? state.daemonSets.containsKey(FleetState.key(o.namespace(), o.name()))
        : state.configs.containsKey(FleetState.configKey(o.kind(), o.namespace(), o.name()));
  }

  /** Memory after the store committed one write of {@code o} (not parsed again from its JSON: the same object). */
  private void remember(ObjectWrite w, KubeObject o, StoredObject so, StoredRevision newRevision) {
    if (!so.kind().equals("DaemonSet")) {
      state.configs.put(FleetState.configKey(so.kind(), so.namespace(), so.name()), so);
      return;
    }
    String k = FleetState.key(so.namespace(), so.name());
    boolean made = !state.daemonSets.containsKey(k);
    DsEntry e = state.daemonSets.computeIfAbsent(k, x -> new DsEntry());
    e.stored = so;
    e.ds = (DaemonSet) o;
    var orphaned = made ? state.orphanedRevisions.remove(k) : null;
    if (orphaned != null) { // adopted into its history (one of its template renumbered is pruned with the write)
      orphaned.values().forEach(r -> addRevision(e, r));
      List<Long> adopted = orphaned.keySet().stream().filter(r -> !w.pruneRevisions().contains(r)).toList();
      if (!adopted.isEmpty()) {
        events.record(Events.dsKey(so.namespace(), so.name()), "Normal", "RevisionsAdopted", "revisions " + adopted
            + " of the DaemonSet deleted with --cascade=orphan, which its released pods run: they move to the new template within"
            + " its update strategy");
      }
    }
    w.pruneRevisions().forEach(e.revisions::remove);
    if (newRevision != null) {
      addRevision(e, newRevision, e.ds.spec().template());
      e.rollout = RolloutState.fromJson(w.rolloutJson(), newRevision.hash(), 0);
      unsureReports(k, e);
      events.record(Events.dsKey(so.namespace(), so.name()), "Normal", "RevisionCreated", "revision " + newRevision.revision()
          + " (" + newRevision.hash() + ")" + (newRevision.changeCause() == null ? "" : ": " + newRevision.changeCause()));
    }
    Set<String> kept = e.revisions.values().stream().map(StoredRevision::hash).collect(Collectors.toSet());
    e.templateBytes.keySet().retainAll(kept);
    e.templateDigests.keySet().retainAll(kept);
    e.refsByHash.keySet().retainAll(kept);
    e.specByHash.keySet().retainAll(kept);
    if (made) {
      PodIntake.revisit(state, k); // the nodes' last reports under its name may be of a deleted one's template
      reportsOfTheDeleted(k, e);
    }
  }

  /**
   * A DaemonSet made under the name of one deleted: the nodes whose last report shows pods under that name (the deleted
   * one's, which their agents may be stopping) until they report again ({@link DsEntry#unsure}). Of the same template,
   * those pods counted as this DaemonSet's, updated and available, and its rollout read complete at once, before any
   * node had said what it runs (Kubernetes counts no pod of the deleted one: each is owned by the old uid). Not a node
   * whose pods under the name were released ({@code --cascade=orphan}): those run on and are taken over.
   */
  private void reportsOfTheDeleted(String k, DsEntry e) {
    String namespace = k.substring(0, k.indexOf('/'));
    for (NodeEntry n : state.nodes.values()) {
      List<ObservedPod> seen = n.observed.getOrDefault(k, List.of());
      if (!seen.isEmpty() && !seen.stream().allMatch(p -> released(n, namespace, p.podName()))) {
        e.unsureReports.put(n.name, new FleetState.UnsureReport(n.reports));
      }
    }
  }

  /**
   * Whether the pod was released on the node (an orphan delete's, or reported so by its agent): it runs on, not stopped,
   * and the DaemonSet made again takes it over at the revision it runs ({@link OrphanedRevisions}), so its report is sure.
   */
  private static boolean released(NodeEntry n, String namespace, String pod) {
    String key = namespace + "/" + pod;
    return io.dsfleet.common.ReleasedPods.holds(n.orphans, key, pod) || n.released.containsKey(key);
  }

  /**
   * A new revision's carried nodes (told to move by the last rollout, no report since: {@link #replacing}) whose last
   * report shows a pod of the new revision: the one they were told to leave (a rollback while they moved). Their agent
   * may be replacing it, so that report does not say the pod is up ({@link DaemonSetController}). The marks already
   * there stay (each ends with its node's next report, or its time): a node's report from before it was told to stop
   * a pod is no surer under a new template, and a template applied at once after a DaemonSet was made again under a
   * deleted one's name, the deleted one's own among them, read the pods every agent was stopping as its own, rolled
   * out (MadeAgainReportsTest).
   */
  private void unsureReports(String k, DsEntry e) {
    e.unsureReports.entrySet().removeIf(m -> { // those of nodes gone or heard from since, which no look would drop
      NodeEntry n = state.nodes.get(m.getKey());
      return n == null || n.reports != m.getValue().reports;
    });
    for (String node : e.rollout.moving()) {
      NodeEntry n = state.nodes.get(node);
      if (n != null && ObservedPod.current(n.observed.getOrDefault(k, List.of()), e.rollout.hash()) != null) {
        e.unsureReports.put(node, new FleetState.UnsureReport(n.reports));
      }
    }
  }

  /**
   * The nodes of the DaemonSet's rollout whose replacement is in flight: told to move, and
   * reporting no pod of the revision they were told to run (the old one stopped and the new one
   * not reported yet, or no report since they were told: the last one still shows the old pod,
   * which the agent is replacing), or whose report is still unsure (a rollback's node that has not
   * reported since: {@link DsEntry#unsure}; before, a template applied then took it for a healthy
   * node and moved another beside it). A node that has not reported since this coordinator started
   * is not among them (what it runs is not known).
   */
  private Set<String> replacing(DaemonSet ds, DsEntry e) {
    String k = FleetState.key(ds.namespace(), ds.name());
    Set<String> out = new TreeSet<>();
    long nanos = nanoTime.getAsLong();
    for (String node : e.rollout.moving()) {
      NodeEntry n = state.nodes.get(node);
      if (n != null && n.reportedSinceStart && !n.awaitingReport
          && (ObservedPod.current(n.observed.getOrDefault(k, List.of()), e.rollout.hash()) == null || e.unsure(n, nanos))) {
        out.add(node);
      }
    }
    return out;
  }

  private ObjectWrite daemonSetWrite(DaemonSet ds, String json, StoredObject existing, long expected, long now, String label,
      java.util.function.UnaryOperator<RolloutState> rollback) {
    DsEntry e = state.daemonSets.get(FleetState.key(ds.namespace(), ds.name()));
    // a DaemonSet made again after an orphan delete starts from the revisions it adopts (OrphanedRevisions)
    DsEntry history = e != null ? e : OrphanedRevisions.history(state, ds);
    String hash = RevisionHashes.of(history, ds.spec().template());
    if (e != null && !Json.canonical(e.ds.spec().selector()).equals(Json.canonical(ds.spec().selector()))) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, label + ": spec.selector: Invalid value: "
          + Json.canonical(ds.spec().selector()) + ": field is immutable");
    }
    long generation = existing == null ? 1 : existing.generation() + (RevisionHashes.specAsStored(e.ds.spec()).equals(RevisionHashes.specAsStored(ds.spec())) ? 0 : 1);
    StoredObject so = new StoredObject("DaemonSet", ds.namespace(), ds.name(), json, generation, 0,
        existing == null ? now : existing.createdAtMillis());
    if (e != null && e.current().hash().equals(hash)) {
      return new ObjectWrite(so, expected, null, List.of(), null);
    }
    String cause = ds.metadata().annotations() == null ? null : ds.metadata().annotations().get(CHANGE_CAUSE);
    long createdAt = now;
    String templateJson = Json.canonical(ds.spec().template());
    List<Long> renumbered = new ArrayList<>();
    if (history != null) {
      // an old revision with this template becomes the newest under a new number, and keeps what
      // it was created with (Kubernetes renumbers its ControllerRevision and leaves its annotations),
      // its text too: agents take a revision's bytes for its identity with the hash (docs/wire.md),
      // and one stored by an older model in other text would be a new template to every node
      for (StoredRevision r : history.revisions.values()) {
        if (r.hash().equals(hash)) {
          renumbered.add(r.revision());
          cause = r.changeCause();
          createdAt = r.createdAtMillis();
          templateJson = r.templateJson();
        }
      }
    }
    // the store numbers the revision (one above the highest it holds)
    StoredRevision rev = new StoredRevision(ds.namespace(), ds.name(), 0, hash, templateJson, cause, createdAt);
    RolloutState rollout = e == null ? RolloutState.start(hash, now) : e.rollout.next(hash, now, replacing(ds, e));
    if (e == null && history != null) { // what its adopted pods run: kept by a coordinator restarted before the nodes report
      rollout = rollout.withLive(OrphanedRevisions.live(history, hash));
    }
    if (rollback != null) {
      rollout = rollback.apply(rollout);
    }
    return new ObjectWrite(so, expected, rev, renumbered, rollout.toJson());
  }

  static void addRevision(DsEntry e, StoredRevision r) {
    addRevision(e, r, Json.read(r.templateJson(), PodTemplateSpec.class));
  }

  /** @param t the revision's template, as its JSON parses */
  private static void addRevision(DsEntry e, StoredRevision r, PodTemplateSpec t) {
    e.revisions.put(r.revision(), r);
    e.refsByHash.put(r.hash(), TemplateRefs.of(t.spec()));
    e.specByHash.put(r.hash(), t.spec());
  }

  /**
   * What a write changes of a ConfigMap or Secret that Kubernetes holds fixed
   * (ValidateConfigMapUpdate, ValidateSecretUpdate), each as a problem naming its field: a
   * Secret's type always; of an immutable one, its immutable flag, data and binaryData. Until
   * 2026-12-08 any change of an immutable one was refused, naming no field (kubectl label or
   * annotate of one too, which Kubernetes takes: its metadata is not frozen), and a Secret's type
   * changed at will.
   */
  private static List<String> frozen(StoredObject existing, KubeObject o) {
    KubeObject was = ManifestParser.parseOne(existing.json());
    List<String> fields = new ArrayList<>();
    if (was instanceof ConfigMap a && o instanceof ConfigMap b && Boolean.TRUE.equals(a.immutable())) {
      frozen(fields, "immutable", true, b.immutable());
      frozen(fields, "data", orEmpty(a.data()), orEmpty(b.data()));
      frozen(fields, "binaryData", orEmpty(a.binaryData()), orEmpty(b.binaryData()));
    } else if (was instanceof Secret a && o instanceof Secret b) {
      if (!typeOf(a).equals(typeOf(b))) {
        fields.add("type: Invalid value: \"" + typeOf(b) + "\": field is immutable");
      }
      if (Boolean.TRUE.equals(a.immutable())) {
        frozen(fields, "immutable", true, b.immutable());
        frozen(fields, "data", orEmpty(a.data()), orEmpty(b.data())); // stringData is folded into data when parsed
      }
    }
    return fields;
  }

  /** A Secret's type, Opaque where none is given (Kubernetes' default). */
  private static String typeOf(Secret s) {
    return s.type() == null || s.type().isEmpty() ? "Opaque" : s.type();
  }

  private static void frozen(List<String> fields, String field, Object was, Object is) {
    if (!was.equals(is)) {
      fields.add(field + ": Forbidden: field is immutable when `immutable` is set");
    }
  }

  private static Map<String, String> orEmpty(Map<String, String> m) {
    return m == null ? Map.of() : m;
  }

  static KubeObject withoutResourceVersion(KubeObject o) {
    ObjectMeta m = o.metadata();
    ObjectMeta clean = new ObjectMeta(m.name(), m.namespace(), m.labels(), m.annotations(), null);
    if (o instanceof DaemonSet ds) {
      return new DaemonSet(ds.apiVersion(), ds.kind(), clean, ds.spec());
    }
    if (o instanceof ConfigMap cm) {
      return new ConfigMap(cm.apiVersion(), cm.kind(), clean, cm.data(), cm.binaryData(), cm.immutable());
    }
    Secret s = (Secret) o;
    return new Secret(s.apiVersion(), s.kind(), clean, s.data(), s.stringData(), s.type(), s.immutable());
  }

  /**
   * The DaemonSet with an earlier revision's template (0: the one before the current), as
   * manifest text: applied, it becomes a new revision, as `kubectl rollout undo` does. It carries
   * {@code expectedResourceVersion} (0: the current one), so it applies only over that version.
   */
  String undoManifest(String namespace, String name, long toRevision, long expectedResourceVersion) {
    DsEntry e = state.daemonSet(namespace, name);
    StoredRevision target;
    if (toRevision == 0) {
      var previous = e.revisions.lowerEntry(e.revisions.lastKey());
      if (previous == null) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "no rollout history found for daemonset \"" + name + "\"");
      }
      target = previous.getValue();
    } else {
      target = e.revisions.get(toRevision);
      if (target == null) {
        throw new ControlException(Status.Code.NOT_FOUND, "unable to find the specified revision " + toRevision
            + " (revisions: " + e.revisions.keySet() + ")");
      }
    }
    PodTemplateSpec template = Json.read(target.templateJson(), PodTemplateSpec.class);
    var spec = e.ds.spec();
    var newSpec = new io.dsfleet.common.model.DaemonSetSpec(spec.selector(), template, spec.updateStrategy(),
        spec.minReadySeconds(), spec.revisionHistoryLimit());
    ObjectMeta m = e.ds.metadata();
    // compare-and-set: the undo applies only over the DaemonSet it was made from
    ObjectMeta meta = new ObjectMeta(m.name(), m.namespace(), m.labels(), m.annotations(),
        String.valueOf(expectedResourceVersion == 0 ? e.stored.resourceVersion() : expectedResourceVersion));
    return Json.canonical(new DaemonSet(e.ds.apiVersion(), e.ds.kind(), meta, newSpec));
  }

  /**
   * Deletes a DaemonSet. With cascade, every node's pod of it is removed; with orphan, the
   * DaemonSet's record goes but agents are told to leave its containers running unmanaged.
   */
  void deleteDaemonSet(String namespace, String name, boolean cascade) {
    String k = FleetState.key(namespace, name);
    DsEntry e = state.daemonSet(namespace, name);
    if (cascade) {
      store.deleteObject("DaemonSet", namespace, name);
    } else {
      // every pod of it that a node runs or should run is released there: left running, unmanaged
      List<Store.Orphan> orphans = new ArrayList<>();
      Set<String> hashes = new HashSet<>(); // the revisions they run, or are told to: kept, orphaned (OrphanedRevisions)
      for (NodeEntry n : state.nodes.values()) {
        Set<String> pods = new TreeSet<>();
        if (n.plan != null) {
          n.plan.desired().stream().filter(p -> p.dsKey().equals(k)).forEach(p -> {
            pods.add(p.podName());
            hashes.add(p.hash());
          });
        }
        n.observed.getOrDefault(k, List.of()).forEach(o -> {
          pods.add(o.podName());
          hashes.add(o.hash());
        });
        pods.forEach(p -> orphans.add(new Store.Orphan(n.name, io.dsfleet.common.ReleasedPods.key(namespace, p)))); // by key: names repeat across namespaces
      }
      List<Long> kept = OrphanedRevisions.kept(e, hashes);
      store.deleteDaemonSetOrphaning(namespace, name, orphans, kept);
      orphans.forEach(o -> state.nodes.get(o.node()).orphans.add(o.pod()));
      if (!kept.isEmpty()) {
        java.util.TreeMap<Long, StoredRevision> orphaned = new java.util.TreeMap<>();
        kept.forEach(r -> orphaned.put(r, e.revisions.get(r)));
        state.orphanedRevisions.put(k, orphaned);
      }
    }
    state.daemonSets.remove(k);
    state.podNames.forgetDaemonSet(k);
    events.forget(Events.dsKey(namespace, name));
    committed.run();
  }

  void deleteConfig(String kind, String namespace, String name) {
    String ck = FleetState.configKey(kind, namespace, name);
    if (!state.configs.containsKey(ck)) {
      throw new ControlException(Status.Code.NOT_FOUND, kind.toLowerCase() + "s \"" + name + "\" not found in namespace " + namespace);
    }
    store.deleteObject(kind, namespace, name);
    state.configs.remove(ck);
    committed.run();
  }

  /** Parses and validates manifest text: the documents, or INVALID_ARGUMENT naming every error (nothing applied). */
  List<ParsedDocument> parse(String text, String source) {
    List<ParsedDocument> docs = ManifestParser.parse(text, source);
    List<String> errors = new ArrayList<>();
    for (ParsedDocument d : docs) {
      for (Problem p : d.errors()) {
        errors.add(d.label() + ": " + p);
      }
    }
    if (!errors.isEmpty()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "invalid manifest, nothing applied:\n" + String.join("\n", errors));
    }
    List<ParsedDocument> objects = docs.stream().filter(d -> d.object() != null).toList();
    if (objects.size() > options.maxObjectsPerApply()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "too many objects in one apply: " + objects.size()
          + " (at most " + options.maxObjectsPerApply() + ")");
    }
    if (objects.isEmpty() && docs.stream().noneMatch(ParsedDocument::skipped)) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "no objects to apply in " + source);
    }
    return docs;
  }
}
