package io.dsfleet.coordinator.fleet;

import com.google.protobuf.ByteString;
import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The code of an apply, run soon after the coordinator's start on a manifest of its own
 * (warm-up.yaml) until the JIT has compiled it: the YAML's parse and validation, the canonical JSON,
 * the template's hash, the revision's template read back, a placement, the desired set encoded. An
 * operator's apply is rare, so without this its code stays interpreted for the coordinator's life:
 * the parse and validation of a small DaemonSet took 3-8 ms, 1 ms compiled (docs/benchmarks.md).
 * Nothing of the fleet is touched: no lock, no store, no node; what it costs is CPU soon after the
 * start, on one thread, bounded in rounds and time.
 */
public final class WarmUp {
  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);
  /** Rounds enough for the JIT's compiled tiers (a method compiles after some thousands of runs of it or its loops). */
  static final int ROUNDS = 400;
  /** The warm-up stops after this long, whatever its rounds: on a machine busy with a fleet reconnecting it takes no more. */
  static final long MAX_NANOS = 5_000_000_000L;
  /**
   * How long after the coordinator serves the warm-up begins: the first seconds of a start (its
   * first calls, the first agents back) go first.
   */
  public static final Duration AFTER = Duration.ofSeconds(10);
  /** Compiled code is the JVM's: one warm-up a JVM (a test's second coordinator in it has nothing to gain). */
  private static final AtomicBoolean RAN = new AtomicBoolean();

  private WarmUp() {}

  /** The manifest the warm-up applies to nothing. */
  static String manifest() {
    try (InputStream in = WarmUp.class.getResourceAsStream("warm-up.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("the coordinator's jar lacks its warm-up manifest", e);
    }
  }

  /**
   * Runs the apply's code {@link #ROUNDS} times or for {@link #MAX_NANOS}, whichever ends first, once
   * a JVM, and stops between two rounds when its thread is interrupted (the coordinator closing);
   * returns the rounds run.
   */
  public static int applyPath(FleetOptions options) {
    if (!RAN.compareAndSet(false, true)) {
      return 0;
    }
    String text = manifest();
    Node node = new Node("warm-up", Map.of("kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64"), List.of(), false);
    long start = System.nanoTime();
    long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    int rounds = 0;
    long size = 0;
    while (rounds < ROUNDS && System.nanoTime() - start < MAX_NANOS && !Thread.currentThread().isInterrupted()) {
      size += round(options, text, node, Instant.now()).length;
      rounds++;
    }
    log.info("the apply's code warmed: {} rounds in {} ms, {} ms of CPU ({} bytes encoded)", rounds, (System.nanoTime() - start) / 1_000_000,
        (java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu) / 1_000_000, size);
    return rounds;
  }

  /** One apply of the manifest, as far as it goes without the fleet; returns the desired set's message as an agent would get it. */
  static byte[] round(FleetOptions options, String text, Node node, Instant now) {
    List<ParsedDocument> docs = Catalog.parse(text, "warm-up", options.maxObjectsPerApply());
    DesiredState.Builder set = DesiredState.newBuilder().setVersion(1);
    for (ParsedDocument d : docs) {
      KubeObject clean = Catalog.withoutResourceVersion(d.object());
      String json = Json.canonical(clean);
      if (clean instanceof DaemonSet ds) {
        String hash = TemplateHash.of(ds.spec().template());
        String template = Json.canonical(ds.spec().template());
        if (Json.canonical(ds.spec().selector()).isEmpty() || Json.canonical(ds.spec()).isEmpty()
            || RolloutState.start(hash, now.toEpochMilli()).toJson().isEmpty()) {
          throw new IllegalStateException("warm-up: an empty encoding");
        }
        PodTemplateSpec back = Json.read(template, PodTemplateSpec.class);
        TemplateRefs.of(back.spec());
        Placement.evaluate(back.spec(), node, now);
        set.addPods(DesiredPod.newBuilder().setNamespace(ds.namespace()).setDaemonSet(ds.name()).setPodName(ds.name() + "-warm")
            .setTemplateHash(hash).setRevision(1).setTemplateJson(ByteString.copyFromUtf8(template)));
      } else {
        set.addConfigs(Dispatcher.configObject(new StoredObject(clean.kind(), clean.namespace(),
            clean.name(), json, 1, 1, now.toEpochMilli())));
      }
    }
    return CoordinatorMessage.newBuilder().setDesired(set).build().toByteArray();
  }
}
