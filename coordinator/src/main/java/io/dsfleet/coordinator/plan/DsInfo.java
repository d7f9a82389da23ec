package io.dsfleet.coordinator.plan;

import io.dsfleet.common.model.DaemonSet;
import java.util.Objects;

/**
 * What the planner needs of a DaemonSet: the spec and its current revision.
 *
 * @param key "namespace/name"
 */
public record DsInfo(String key, DaemonSet ds, long revision, String hash) {
  public DsInfo {
    Objects.requireNonNull(key);
    Objects.requireNonNull(ds);
    Objects.requireNonNull(hash);
  }

  public String namespace() {
    return ds.metadata().namespace();
  }

  public String name() {
    return ds.metadata().name();
  }

  public int minReadySeconds() {
    Integer m = ds.spec().minReadySeconds();
    return m == null ? 0 : m;
  }
}
