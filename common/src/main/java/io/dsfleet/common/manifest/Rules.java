package io.dsfleet.common.manifest;

import io.dsfleet.common.model.ObjectFieldSelector;
import io.dsfleet.common.model.SeccompProfile;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the parts of {@link Validator} share: the problems found so far, in one list for the whole
 * object, and the rules more than one part of an object uses (paths inside a volume, field
 * references, user ids, seccomp profiles).
 */
abstract class Rules {
  static final Set<String> SECCOMP_TYPES = Set.of("RuntimeDefault", "Unconfined", "Localhost");

  final List<Problem> errors;

  Rules(List<Problem> errors) {
    this.errors = errors;
  }

  /** A path inside a volume or directory ({@link LocalPaths#descending}). */
  void relativePath(String path, String p) {
    if (path.startsWith("/")) {
      errors.add(Problem.invalid(p, path, "must be a relative path"));
    } else if (LocalPaths.descending(path) == null) {
      errors.add(Problem.invalid(p, path, "must not contain '..'"));
    }
  }

  void fieldRef(ObjectFieldSelector ref, String p, Set<String> allowed) {
    if (ref.apiVersion() != null && !ref.apiVersion().equals("v1")) {
      errors.add(Problem.unsupportedValue(p + ".apiVersion", ref.apiVersion(), List.of("v1")));
    }
    String fp = ref.fieldPath();
    if (fp == null || fp.isEmpty()) {
      errors.add(Problem.required(p + ".fieldPath"));
    } else if (!allowed.contains(fp) && !isLabelOrAnnotationRef(fp)) {
      errors.add(Problem.unsupportedValue(p + ".fieldPath", fp, sorted(allowed)));
    }
  }

  static boolean isLabelOrAnnotationRef(String fp) {
    return fp.matches("metadata\\.(labels|annotations)\\['[^']+'\\]");
  }

  void configKey(String key, String p) {
    String e = Names.configKey(key);
    if (e != null) {
      errors.add(Problem.invalid(p, key, e));
    }
  }

  /** A user or group id: Kubernetes' and Docker's range (a larger one is refused by Docker on every node). */
  void unixId(Long n, String p) {
    if (n != null && (n < 0 || n > Integer.MAX_VALUE)) {
      errors.add(Problem.invalid(p, n, "must be between 0 and " + Integer.MAX_VALUE + ", inclusive"));
    }
  }

  void nonNegative(Number n, String p) {
    if (n != null && n.longValue() < 0) {
      errors.add(Problem.invalid(p, n, "must be greater than or equal to 0"));
    }
  }

  void atLeastOne(Integer n, String p) {
    if (n != null && n < 1) {
      errors.add(Problem.invalid(p, n, "must be greater than or equal to 1"));
    }
  }

  void seccomp(SeccompProfile profile, String p) {
    if (profile == null) {
      return;
    }
    if (profile.type() == null) {
      errors.add(Problem.required(p + ".type"));
    } else if (!SECCOMP_TYPES.contains(profile.type())) {
      errors.add(Problem.unsupportedValue(p + ".type", profile.type(), sorted(SECCOMP_TYPES)));
    } else if (profile.type().equals("Localhost") && (profile.localhostProfile() == null || profile.localhostProfile().isEmpty())) {
      errors.add(Problem.required(p + ".localhostProfile", "must be set when seccomp type is Localhost"));
    } else if (!profile.type().equals("Localhost") && profile.localhostProfile() != null) {
      errors.add(Problem.invalid(p + ".localhostProfile", profile.localhostProfile(), "can only be set when seccomp type is Localhost"));
    } else if (profile.localhostProfile() != null) {
      relativePath(profile.localhostProfile(), p + ".localhostProfile"); // Kubernetes' validateLocalDescendingPath
      if ("".equals(LocalPaths.descending(profile.localhostProfile()))) {
        errors.add(Problem.invalid(p + ".localhostProfile", profile.localhostProfile(), "must name a file in the profile directory"));
      }
    }
  }

  static boolean isBase64(String s) {
    try {
      Base64.getDecoder().decode(s.replaceAll("\\s", ""));
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static boolean isEmpty(java.util.Collection<?> c) {
    return c == null || c.isEmpty();
  }

  static boolean isEmpty(Map<?, ?> m) {
    return m == null || m.isEmpty();
  }

  static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  static List<String> sorted(Set<String> s) {
    return s.stream().sorted().toList();
  }
}
