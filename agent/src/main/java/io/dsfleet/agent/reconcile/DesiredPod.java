package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.pod.PodContext;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.Names;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One pod the coordinator wants on this node, parsed. A pod this agent cannot read (a field it
 * does not know, from a newer coordinator; a name that is not a name) carries {@link #problem}
 * instead of a template: it fails alone, its containers are left as they are, and the other pods
 * go on.
 *
 * @param key "namespace/name"
 * @param hash the template's revision hash, as the coordinator names it (40 bits: two templates can share one)
 * @param digest the SHA-256 (hex) of the template's JSON as sent: with {@code hash}, the template's identity here;
 *     null only for a pod sent without a template this agent does not know
 * @param template null when {@link #problem} is set
 * @param ctx what rendering needs; null when {@link #problem} is set
 * @param configs a digest of the ConfigMaps and Secrets of the pod's namespace, to notice updates
 */
public record DesiredPod(String key, String namespace, String name, String daemonSet, String hash, String digest,
    PodTemplateSpec template, String problem, PodContext ctx, String configs) {

  public boolean valid() {
    return template != null;
  }

  /**
   * Whether {@code c} is a container of this pod's template: of its hash and, where the container
   * carries one ({@link io.dsfleet.agent.runtime.Labels#DIGEST}), of its digest. The hash alone
   * does not say (40 bits: a template can be made to share another's, and a DaemonSet made again
   * after a delete knows none of the deleted one's revisions to tell them apart); a container
   * without a digest, made by an agent before 2026-12-06, is taken by its hash alone, so an
   * agent's upgrade restarts no pod. Every comparison of a container with a desired pod's
   * template is this one.
   */
  public boolean runs(OwnedContainer c) {
    return hash.equals(c.hash()) && (c.digest() == null || digest == null || c.digest().equals(digest));
  }

  /** Whether {@code other} is this pod's template: the same hash and the same digest. */
  public boolean sameTemplate(DesiredPod other) {
    return hash.equals(other.hash()) && java.util.Objects.equals(digest, other.digest());
  }

  /** Whether the pod runs in a sandbox ({@link io.dsfleet.agent.pod.PodRenderer#needsSandbox}); call on a valid pod. */
  public boolean needsSandbox() {
    return io.dsfleet.agent.pod.PodRenderer.needsSandbox(template.spec());
  }

  public Duration grace() {
    Long g = template.spec().terminationGracePeriodSeconds();
    return Duration.ofSeconds(g == null ? 30 : g);
  }

  /** The directory of a pod in the agent's pods directory: "namespace_name" (names hold no "_"). */
  public static String dirName(String key) {
    return key.replace('/', '_');
  }

  /**
   * Parses a desired set. Templates of pods already known with the same hash and digest (the same
   * bytes) are reused; a pod sent without a template (a misscheduled pod of a pruned revision)
   * keeps the template it had, its digest and its hash (a template never runs labelled, and
   * reported, as another). Before 2026-12-06 the hash alone said a template was known, and a
   * template sent under a known one's hash was never read.
   */
  public static Map<String, DesiredPod> parse(DesiredState state, Map<String, DesiredPod> known, String node, String hostIp, Path podsDir,
      String agentVersion) {
    Map<String, Map<String, Map<String, byte[]>>> cms = new HashMap<>();
    Map<String, Map<String, Map<String, byte[]>>> secrets = new HashMap<>();
    Map<String, Map<String, String>> secretTypes = new HashMap<>();
    Map<String, TreeMap<String, String>> digests = new HashMap<>();
    for (ConfigObject c : state.getConfigsList()) {
      Map<String, byte[]> data = new HashMap<>();
      c.getDataMap().forEach((k, v) -> data.put(k, v.toByteArray()));
      if (c.getKind() == ConfigObject.Kind.SECRET) {
        secrets.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), data);
        secretTypes.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), c.getType());
      } else {
        cms.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), data);
      }
      digests.computeIfAbsent(c.getNamespace(), x -> new TreeMap<>()).put(c.getKind() + "/" + c.getName(), digest(c));
    }
    Map<String, DesiredPod> out = new LinkedHashMap<>();
    for (io.dsfleet.proto.v1.DesiredPod p : state.getPodsList()) {
      String key = p.getNamespace() + "/" + p.getPodName();
      String bad = Names.dns1123Label(p.getNamespace());
      bad = bad != null ? "namespace \"" + p.getNamespace() + "\": " + bad : Names.dns1123Subdomain(p.getPodName()) == null ? null
          : "pod name \"" + p.getPodName() + "\": " + Names.dns1123Subdomain(p.getPodName());
      if (bad == null && !p.getTemplateHash().matches("[a-z0-9]{1,64}")) {
        bad = "template hash \"" + p.getTemplateHash() + "\" is not a hash";
      }
      if (bad != null) {
        out.put(key, invalid(key, p, "the coordinator sent an invalid pod: " + bad));
        continue;
      }
      DesiredPod old = known.get(key);
      String hash = p.getTemplateHash();
      PodTemplateSpec template;
      String digest;
      if (!p.getTemplateJson().isEmpty()) {
        digest = digest(p.getTemplateJson());
        if (old != null && old.valid() && old.hash().equals(p.getTemplateHash()) && digest.equals(old.digest())) {
          template = old.template();
        } else {
          try {
            template = Json.readUntimed(p.getTemplateJson().toStringUtf8(), PodTemplateSpec.class);
          } catch (RuntimeException e) {
            out.put(key, invalid(key, p, digest, "ds-agent " + agentVersion + " cannot run this pod (a newer coordinator?): " + rootMessage(e)));
            continue;
          }
        }
      } else if (old != null && old.valid()) {
        // under the hash of the template it has, whatever the hash sent (a coordinator sends a pod by name alone under the
        // revision the node last reported: a plan from a report older than the node's last set would name another); before
        // 2026-12-06 the agent took the hash sent, stopped the pod and started the template it had again under that hash
        hash = old.hash();
        template = old.template();
        digest = old.digest();
      } else {
        out.put(key, invalid(key, p, "sent without its template, which this agent does not know; its containers are left as they are"));
        continue;
      }
      PodContext ctx = new PodContext(node, hostIp, p.getNamespace(), p.getDaemonSet(), p.getPodName(), hash, digest, template,
          cms.getOrDefault(p.getNamespace(), Map.of()), secrets.getOrDefault(p.getNamespace(), Map.of()),
          secretTypes.getOrDefault(p.getNamespace(), Map.of()), podsDir.resolve(dirName(key)));
      out.put(key, new DesiredPod(key, p.getNamespace(), p.getPodName(), p.getDaemonSet(), hash, digest, template, null, ctx,
          String.join(",", digests.getOrDefault(p.getNamespace(), new TreeMap<>()).values())));
    }
    return out;
  }

  /** SHA-256 of a ConfigMap's or Secret's type and data, keys in order (protobuf maps have no stable byte order). */
  private static String digest(ConfigObject c) {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      md.update((c.getKind() + "\0" + c.getName() + "\0" + c.getType() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      for (var e : new TreeMap<>(c.getDataMap()).entrySet()) {
        md.update((e.getKey() + "\0" + e.getValue().size() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        md.update(e.getValue().asReadOnlyByteBuffer());
      }
      return java.util.HexFormat.of().formatHex(md.digest(), 0, 12);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static DesiredPod invalid(String key, io.dsfleet.proto.v1.DesiredPod p, String problem) {
    return invalid(key, p, null, problem);
  }

  private static DesiredPod invalid(String key, io.dsfleet.proto.v1.DesiredPod p, String digest, String problem) {
    return new DesiredPod(key, p.getNamespace(), p.getPodName(), p.getDaemonSet(), p.getTemplateHash(), digest, null, problem, null, "");
  }

  /**
   * The SHA-256 (64 lowercase hex digits) of a template's JSON as the coordinator sent it: its bytes,
   * never parsed and written again (a coordinator sends a revision's stored bytes unchanged: docs/wire.md).
   */
  static String digest(com.google.protobuf.ByteString templateJson) {
    return io.dsfleet.common.Sha256.hex(templateJson.asReadOnlyByteBuffer());
  }

  private static String rootMessage(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    String m = c.getMessage() == null ? c.toString() : c.getMessage();
    int nl = m.indexOf('\n');
    return nl > 0 ? m.substring(0, nl) : m;
  }
}
