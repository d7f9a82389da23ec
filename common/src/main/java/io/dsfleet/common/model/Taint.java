package io.dsfleet.common.model;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A node taint. {@code timeAdded} matters only for NoExecute taints with tolerationSeconds and is
 * left out of equality, as two taints with the same key and effect are the same taint.
 */
public record Taint(String key, String value, String effect, Instant timeAdded) {
  public static final String NO_SCHEDULE = "NoSchedule";
  public static final String PREFER_NO_SCHEDULE = "PreferNoSchedule";
  public static final String NO_EXECUTE = "NoExecute";
  public static final Set<String> EFFECTS = Set.of(NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE);

  public Taint {
    Objects.requireNonNull(key, "key");
    value = value == null ? "" : value;
    if (!EFFECTS.contains(effect)) {
      throw new IllegalArgumentException("taint effect must be one of NoSchedule, PreferNoSchedule, NoExecute: " + effect);
    }
  }

  public static Taint of(String key, String value, String effect) {
    return new Taint(key, value, effect, null);
  }

  /**
   * Parses kubectl's taint syntax: {@code key=value:Effect} or {@code key:Effect}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static Taint parse(String spec) {
    int colon = spec.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("invalid taint spec \"" + spec + "\": expected key=value:Effect or key:Effect");
    }
    String kv = spec.substring(0, colon);
    String effect = spec.substring(colon + 1);
    if (!EFFECTS.contains(effect)) {
      throw new IllegalArgumentException("invalid taint effect \"" + effect + "\" in \"" + spec
          + "\": must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    int eq = kv.indexOf('=');
    return checked(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1), effect);
  }

  /**
   * A taint as Kubernetes validates one: a qualified name for its key, a label value for its
   * value, one of the three effects. Wherever a taint comes from outside (dsctl, kubectl, an
   * agent's configuration), it is checked so before it is taken.
   *
   * @throws IllegalArgumentException naming what is wrong (the key and value quoted as given)
   */
  public static Taint checked(String key, String value, String effect) {
    String bad = io.dsfleet.common.manifest.Names.qualifiedName(key);
    if (bad != null) {
      throw new IllegalArgumentException("invalid taint key \"" + key + "\": " + bad);
    }
    bad = io.dsfleet.common.manifest.Names.labelValue(value);
    if (bad != null) {
      throw new IllegalArgumentException("invalid taint value \"" + value + "\" of " + key + ": " + bad);
    }
    if (!EFFECTS.contains(effect)) {
      throw new IllegalArgumentException("invalid taint effect \"" + effect + "\" of " + key
          + ": must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    return of(key, value, effect);
  }

  public boolean sameAs(Taint other) {
    return key.equals(other.key) && effect.equals(other.effect);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Taint t && key.equals(t.key) && value.equals(t.value) && effect.equals(t.effect);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, value, effect);
  }

  @Override
  public String toString() {
    return key + (value.isEmpty() ? "" : "=" + value) + ":" + effect;
  }
}
