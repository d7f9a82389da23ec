package io.dsfleet.common;

import io.dsfleet.common.model.PodTemplateSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The revision hash of a pod template: SHA-256 of its canonical JSON (record components in
 * declaration order, map keys sorted, nulls left out), first 10 hex digits. YAML key order and
 * serialization round trips do not change it; a new optional field added to the model in a later
 * release does not change the hash of templates that leave it unset.
 *
 * <p>40 bits collide: two templates of one DaemonSet can share a hash (by chance, or made to, with
 * about 2^20 tries). The coordinator then hashes the newer with a collision count, as Kubernetes'
 * ComputeHash does with the DaemonSet's collisionCount ({@link #of(PodTemplateSpec, int)}).
 */
public final class TemplateHash {
  private TemplateHash() {}

  public static String of(PodTemplateSpec template) {
    return digest(Json.canonical(template));
  }

  /**
   * The hash of a template whose plain hash ({@code collisions} 0) and the {@code collisions - 1}
   * before it are taken by other templates.
   */
  public static String of(PodTemplateSpec template, int collisions) {
    String canonical = Json.canonical(template);
    return digest(collisions == 0 ? canonical : canonical + "#collision-" + collisions);
  }

  static String digest(String canonicalJson) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(canonicalJson.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
