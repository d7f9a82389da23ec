package io.dsfleet.agent.reconcile;

import com.google.protobuf.ByteString;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/** Desired pods and owned containers for the planner tests, from the common fixture DaemonSet. */
final class Pods {
  static final String NODE = "n1";
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private Pods() {}

  /** The fixture DaemonSet (no probe, no volume) with changes: path, YAML value, ... */
  static DaemonSet ds(String... pathsAndValues) {
    var tree = Fixtures.baseTree();
    Fixtures.with(tree, "spec.template.spec.containers[0].readinessProbe", null);
    Fixtures.with(tree, "spec.template.spec.volumes", null);
    Fixtures.with(tree, "spec.template.spec.containers[0].volumeMounts", null);
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      Fixtures.with(tree, pathsAndValues[i], pathsAndValues[i + 1]);
    }
    var d = Fixtures.parse(tree).get(0);
    if (!d.valid()) {
      throw new IllegalArgumentException(d.errors().toString());
    }
    return (DaemonSet) d.object();
  }

  static DesiredState state(DaemonSet ds) {
    return DesiredState.newBuilder().setVersion(1).addPods(io.dsfleet.proto.v1.DesiredPod.newBuilder().setNamespace("ops").setDaemonSet("agent")
        .setPodName("agent-abcde").setTemplateHash(TemplateHash.of(ds.spec().template())).setRevision(1)
        .setTemplateJson(ByteString.copyFromUtf8(Json.canonical(ds.spec().template())))).build();
  }

  /** A desired set of one pod per name, each NAME-abcde of DaemonSet NAME in namespace ops. */
  static DesiredState named(long version, Map<String, DaemonSet> byName) {
    DesiredState.Builder b = DesiredState.newBuilder().setVersion(version);
    byName.forEach((name, ds) -> b.addPods(io.dsfleet.proto.v1.DesiredPod.newBuilder().setNamespace("ops").setDaemonSet(name)
        .setPodName(name + "-abcde").setTemplateHash(TemplateHash.of(ds.spec().template())).setRevision(1)
        .setTemplateJson(ByteString.copyFromUtf8(Json.canonical(ds.spec().template())))));
    return b.build();
  }

  static DesiredPod pod(String... pathsAndValues) {
    return DesiredPod.parse(state(ds(pathsAndValues)), Map.of(), NODE, "10.1.1.1", Path.of("/nonexistent/pods"), "test")
        .get("ops/agent-abcde");
  }

  /** ops/agent-abcde with a field this agent does not know, as a newer coordinator could send it. */
  static DesiredPod unreadable() {
    DesiredState s = state(ds()).toBuilder().setPods(0, state(ds()).getPods(0).toBuilder()
        .setTemplateJson(ByteString.copyFromUtf8("{\"spec\":{\"containers\":[],\"newField\":true}}"))).build();
    return DesiredPod.parse(s, Map.of(), NODE, "10.1.1.1", Path.of("/nonexistent/pods"), "test").get("ops/agent-abcde");
  }

  /** A container of pod ops/agent-abcde as the runtime would show it, labels checked. */
  static final class C {
    private final Map<String, String> labels = new HashMap<>();
    private String state = "running";
    private int exit;
    private Instant created = T0;
    private Instant started = T0;
    private Instant finished;
    private String error = "";
    private String imageUnknown;
    private boolean oomKilled;
    private final String id;

    C(String id, String hash, String role, String container, int restarts, int attempt) {
      this.id = id;
      labels.putAll(Map.of(Labels.MANAGED, "true", Labels.NODE, NODE, Labels.NAMESPACE, "ops", Labels.DAEMON_SET, "agent",
          Labels.POD, "agent-abcde", Labels.CONTAINER, container, Labels.HASH, hash, Labels.ROLE, role,
          Labels.RESTARTS, String.valueOf(restarts), Labels.ATTEMPT, String.valueOf(attempt)));
    }

    static C sandbox(String id, String hash, int attempt) {
      return new C(id, hash, Labels.SANDBOX, "POD", 0, attempt);
    }

    static C app(String id, String hash, String name, int restarts, int attempt) {
      return new C(id, hash, Labels.APP, name, restarts, attempt);
    }

    static C init(String id, String hash, String name, int restarts, int attempt) {
      return new C(id, hash, Labels.INIT, name, restarts, attempt);
    }

    C exited(int code, Instant at) {
      state = "exited";
      exit = code;
      finished = at;
      return this;
    }

    C neverStarted(String why, Instant created) {
      state = "created";
      exit = 127;
      started = null;
      this.created = created;
      error = why;
      return this;
    }

    /** Created, its start not made yet (the executor starts it next): no error, no exit code. */
    C createdOnly(Instant created) {
      state = "created";
      exit = 0;
      started = null;
      this.created = created;
      error = "";
      return this;
    }

    /** Docker could not say its image's labels: {@link ContainerInfo#imageLabelsUnknown}. */
    C imageUnknown(String why) {
      imageUnknown = why;
      return this;
    }

    /** The kernel's OOM killer ended its run (Docker's State.OOMKilled). */
    C oomKilled() {
      oomKilled = true;
      return this;
    }

    C created(Instant at) {
      created = at;
      return this;
    }

    C startedAt(Instant at) {
      started = at;
      return this;
    }

    C label(String k, String v) {
      labels.put(k, v);
      return this;
    }

    /** As the runtime shows it, its labels unchecked. */
    ContainerInfo info() {
      return new ContainerInfo(id, "dsf_" + id, Map.copyOf(labels), state, exit, created, started, finished, null, "10.0.0.9", error, false,
          imageUnknown, oomKilled);
    }

    OwnedContainer build() {
      return OwnedContainer.of(info(), NODE, new StringBuilder()).orElseThrow();
    }
  }
}
