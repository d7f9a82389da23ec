package io.dsfleet.common.match;

import io.dsfleet.common.model.Taint;
import io.dsfleet.common.model.Toleration;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** Taint/toleration matching, Kubernetes semantics (core/v1 helper ToleratesTaint). */
public final class Taints {
  private Taints() {}

  /**
   * A toleration tolerates a taint when the effects match (an empty effect matches all), the keys
   * match (an empty key with Exists matches all), and the operator holds: Exists ignores the
   * value, Equal (the default) compares it.
   */
  public static boolean tolerates(Toleration t, Taint taint) {
    if (t.effect() != null && !t.effect().isEmpty() && !t.effect().equals(taint.effect())) {
      return false;
    }
    String op = t.operator() == null || t.operator().isEmpty() ? "Equal" : t.operator();
    boolean emptyKey = t.key() == null || t.key().isEmpty();
    if (emptyKey) {
      return op.equals("Exists");
    }
    if (!t.key().equals(taint.key())) {
      return false;
    }
    return switch (op) {
      case "Exists" -> true;
      case "Equal" -> (t.value() == null ? "" : t.value()).equals(taint.value());
      default -> false;
    };
  }

  /** The first taint passing {@code filter} that no toleration tolerates. */
  public static Optional<Taint> firstUntolerated(List<Taint> taints, List<Toleration> tolerations, Predicate<Taint> filter) {
    for (Taint taint : taints) {
      if (filter.test(taint) && tolerations.stream().noneMatch(t -> tolerates(t, taint))) {
        return Optional.of(taint);
      }
    }
    return Optional.empty();
  }
}
