package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodStatus;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory of the coordinator of 2026-12-04 (commit 8f52e936, schema 8), captured from a
 * fleet it ran (docs/operations.md, "Across versions"): two nodes, a ConfigMap and a Secret, two
 * DaemonSets (one at its second revision), a DaemonSet deleted with --cascade=orphan, three join
 * tokens (one revoked) and a revoked admin credential. This build opens it with everything as it
 * was, and a node that reports what it runs, as an agent of that day reports it (no template
 * digest, no released pods), is sent the very pods under the very hashes: no pod of the fleet is
 * rolled by the upgrade.
 */
class OlderStoreTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  /** What each node ran when the store was captured: pod name, its DaemonSet's revision hash. */
  static final Map<String, Map<String, String>> RUNNING = Map.of(
      "h161-n1", Map.of("h161-web-8f2h65784s", "d01739d153", "h161-plain-h9cmdwpqtr", "656568e58f"),
      "h161-n2", Map.of("h161-web-swnwdnncjz", "d01739d153", "h161-plain-zgcxcct8cn", "656568e58f"));
  @TempDir Path dir;
  CoordinatorFixture c;

  @AfterEach
  void stop() {
    if (c != null) {
      c.close();
    }
  }

  /** The manifests that fleet was given last (its ConfigMap, Secret and the two DaemonSets that remain). */
  String manifests() throws Exception {
    try (InputStream in = getClass().getResourceAsStream("/across-versions/manifests-2026-12-04.yaml")) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  void copyStore() throws Exception {
    Files.createDirectories(dir.resolve("pki"));
    try (InputStream db = getClass().getResourceAsStream("/across-versions/store-2026-12-04.db");
        InputStream key = getClass().getResourceAsStream("/across-versions/store-2026-12-04.secrets.key")) {
      Files.copy(db, dir.resolve("dsfleet.db"));
      Files.copy(key, dir.resolve("pki/secrets.key"));
    }
  }

  @Test
  void theStoreOfTheCoordinatorOf20261204OpensAsItWasAndRollsNoPod() throws Exception {
    copyStore();
    c = new CoordinatorFixture(dir);
    var sets = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("default").build()).getDaemonSetsList();
    assertThat(sets).extracting(d -> d.getName() + " generation " + d.getGeneration() + " revision " + d.getRevision() + " " + d.getTemplateHash())
        .containsExactlyInAnyOrder("h161-web generation 1 revision 1 d01739d153", "h161-plain generation 2 revision 2 656568e58f");
    for (String node : RUNNING.keySet()) {
      List<PodStatus> running = RUNNING.get(node).entrySet().stream().map(e -> PodStatus.newBuilder().setNamespace("default")
          .setDaemonSet(e.getKey().substring(0, e.getKey().lastIndexOf('-'))).setPodName(e.getKey()).setTemplateHash(e.getValue())
          .setPhase("Running").setReady(true).setReadySinceMillis(1).build()).toList(); // as an agent of 2026-12-04 reports: no digest
      FakeAgent a = new FakeAgent(c.server.port(), node).join(Map.of()).open(running);
      DesiredState s = a.nextDesired(WAIT);
      assertThat(s.getPodsList().stream().collect(Collectors.toMap(DesiredPod::getPodName, DesiredPod::getTemplateHash)))
          .as("node %s sent what it runs", node).isEqualTo(RUNNING.get(node));
      a.close();
    }
    // the same manifests applied again change nothing (the templates hash as that coordinator hashed them)
    var applied = c.control().apply(ApplyRequest.newBuilder().setSource("again.yaml").setManifests(manifests()).build());
    assertThat(applied.getResultsList()).extracting(r -> r.getKind() + " " + r.getName() + " " + r.getAction()).containsExactlyInAnyOrder(
        "ConfigMap h161-cm unchanged", "Secret h161-secret unchanged", "DaemonSet h161-web unchanged", "DaemonSet h161-plain unchanged");
    c.close();
    c = null;
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.schemaVersion()).isEqualTo(SqliteStore.latestSchemaVersion());
      for (Store.StoredRevision r : s.revisions()) {
        assertThat(TemplateHash.of(Json.read(r.templateJson(), PodTemplateSpec.class))).as("%s revision %d", r.name(), r.revision())
            .isEqualTo(r.hash());
      }
      assertThat(s.revisions()).extracting(r -> r.name() + " " + r.revision() + " " + r.hash())
          .containsExactlyInAnyOrder("h161-web 1 d01739d153", "h161-plain 1 014b5f879f", "h161-plain 2 656568e58f");
      assertThat(s.tokens()).extracting(t -> t.id() + (t.revokedMillis() > 0 ? " revoked" : "")).containsExactlyInAnyOrder("568501",
          "58a574", "5ab6ff revoked");
      assertThat(s.certificates()).filteredOn(x -> x.revokedMillis() > 0).extracting(Store.IssuedCertificate::name).containsExactly("bob");
      assertThat(s.objects()).extracting(o -> o.kind() + " " + o.name()).contains("ConfigMap h161-cm", "Secret h161-secret");
    }
  }
}
