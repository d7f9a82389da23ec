package io.dsfleet.common;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Which build this is: the version and the commit of the checkout it was built from, which the
 * agent's and the coordinator's jars carry in their manifests' Implementation-Version as
 * {@code 0.1.0-SNAPSHOT+1a2b3c4d5e6f} (the root pom's build-commit step; "-dirty" after the commit
 * when tracked files had changes, "+unknown" when built without .git). Shown whole by --version,
 * {@code dsctl version}, the agent's NodeInfo.agent_version ({@code dsctl get nodes -o wide}, the
 * Kubernetes API's kubeletVersion) and split in the {@code dsfleet_build_info} gauge.
 *
 * @param full what is shown: the manifest's Implementation-Version, or "dev" from classes outside a jar
 * @param version the part before the '+'
 * @param commit the part after it: 12 hex digits, maybe with "-dirty"; "unknown" when the build did not know it
 */
public record BuildIdentity(String full, String version, String commit) {
  public static final String UNKNOWN = "unknown";

  /** The build of the jar {@code c} was loaded from. */
  public static BuildIdentity of(Class<?> c) {
    return parse(c.getPackage().getImplementationVersion());
  }

  /** From an Implementation-Version (null: classes outside a jar, "dev"). */
  public static BuildIdentity parse(String implementationVersion) {
    if (implementationVersion == null || implementationVersion.isEmpty()) {
      return new BuildIdentity("dev", "dev", UNKNOWN);
    }
    int plus = implementationVersion.indexOf('+');
    if (plus < 0) {
      return new BuildIdentity(implementationVersion, implementationVersion, UNKNOWN);
    }
    String commit = implementationVersion.substring(plus + 1);
    return new BuildIdentity(implementationVersion, implementationVersion.substring(0, plus), commit.isEmpty() ? UNKNOWN : commit);
  }

  /** {@code dsfleet_build_info{version,commit} 1}, as Prometheus' own build_info series. */
  public void register(PrometheusRegistry r) {
    r.register(GaugeWithCallback.builder().name("dsfleet_build_info")
        .help("1, labelled with this build's version and the commit it was built from (unknown: built without .git)")
        .labelNames("version", "commit").callback(cb -> cb.call(1, version, commit)).build());
  }
}
