package io.dsfleet.common;

import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.EnvFromSource;
import io.dsfleet.common.model.EnvVar;
import io.dsfleet.common.model.LocalObjectReference;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Volume;
import io.dsfleet.common.model.VolumeProjection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** The ConfigMaps and Secrets a pod uses (env, envFrom, volumes, projected sources, image pull secrets). */
public final class TemplateRefs {
  /** Names of the ConfigMaps and Secrets a pod spec references, in its namespace. */
  public record Refs(Set<String> configMaps, Set<String> secrets) {}

  private TemplateRefs() {}

  public static Refs of(PodSpec pod) {
    Set<String> cms = new TreeSet<>();
    Set<String> secrets = new TreeSet<>();
    for (Container c : Stream.concat(list(pod.initContainers()).stream(), list(pod.containers()).stream()).toList()) {
      for (EnvVar e : list(c.env())) {
        if (e.valueFrom() != null && e.valueFrom().configMapKeyRef() != null) {
          cms.add(e.valueFrom().configMapKeyRef().name());
        }
        if (e.valueFrom() != null && e.valueFrom().secretKeyRef() != null) {
          secrets.add(e.valueFrom().secretKeyRef().name());
        }
      }
      for (EnvFromSource e : list(c.envFrom())) {
        if (e.configMapRef() != null) {
          cms.add(e.configMapRef().name());
        }
        if (e.secretRef() != null) {
          secrets.add(e.secretRef().name());
        }
      }
    }
    for (Volume v : list(pod.volumes())) {
      if (v.configMap() != null) {
        cms.add(v.configMap().name());
      }
      if (v.secret() != null) {
        secrets.add(v.secret().secretName());
      }
      if (v.projected() != null) {
        for (VolumeProjection p : list(v.projected().sources())) {
          if (p.configMap() != null) {
            cms.add(p.configMap().name());
          }
          if (p.secret() != null) {
            secrets.add(p.secret().name());
          }
        }
      }
    }
    for (LocalObjectReference r : list(pod.imagePullSecrets())) {
      secrets.add(r.name());
    }
    return new Refs(Set.copyOf(cms), Set.copyOf(secrets));
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
