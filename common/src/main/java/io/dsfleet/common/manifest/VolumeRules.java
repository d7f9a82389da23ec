package io.dsfleet.common.manifest;

import io.dsfleet.common.Quantities;
import io.dsfleet.common.model.*;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** {@link Validator}'s rules for a pod's volumes: one source each, host paths, emptyDirs, projected files and their paths. */
final class VolumeRules extends Rules {
  static final Set<String> HOST_PATH_TYPES =
      Set.of("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice");
  static final Set<String> VOLUME_FIELD_PATHS =
      Set.of("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations");

  VolumeRules(List<Problem> errors) {
    super(errors);
  }

  void volume(Volume v, String p) {
    Set<String> files = new HashSet<>(); // the files a projected volume's sources write, cleaned
    int sources = (v.hostPath() != null ? 1 : 0) + (v.emptyDir() != null ? 1 : 0) + (v.configMap() != null ? 1 : 0)
        + (v.secret() != null ? 1 : 0) + (v.downwardAPI() != null ? 1 : 0) + (v.projected() != null ? 1 : 0);
    if (sources == 0) {
      errors.add(Problem.required(p, "must specify a volume type"));
    } else if (sources > 1) {
      errors.add(Problem.forbidden(p, "may not specify more than 1 volume type"));
    }
    if (v.hostPath() != null) {
      HostPathVolumeSource h = v.hostPath();
      if (h.path() == null || h.path().isEmpty()) {
        errors.add(Problem.required(p + ".hostPath.path"));
      } else if (!h.path().startsWith("/")) {
        errors.add(Problem.invalid(p + ".hostPath.path", h.path(), "must be an absolute path"));
      } else if (List.of(h.path().split("/")).contains("..")) {
        errors.add(Problem.invalid(p + ".hostPath.path", h.path(), "must not contain '..'"));
      }
      if (h.type() != null && !HOST_PATH_TYPES.contains(h.type())) {
        errors.add(Problem.unsupportedValue(p + ".hostPath.type", h.type(), sorted(HOST_PATH_TYPES)));
      }
    }
    if (v.emptyDir() != null) {
      EmptyDirVolumeSource e = v.emptyDir();
      if (e.medium() != null && !e.medium().isEmpty() && !e.medium().equals("Memory")) {
        errors.add(Problem.unsupportedValue(p + ".emptyDir.medium", e.medium(), List.of("", "Memory")));
      }
      if (e.sizeLimit() != null && !Quantities.isValid(e.sizeLimit())) {
        errors.add(Problem.invalid(p + ".emptyDir.sizeLimit", e.sizeLimit(), "must be a quantity"));
      } else if (e.sizeLimit() != null && Quantities.parse(e.sizeLimit()).signum() < 0) {
        errors.add(Problem.invalid(p + ".emptyDir.sizeLimit", e.sizeLimit(), "must be greater than or equal to 0"));
      }
    }
    if (v.configMap() != null) {
      requiredName(v.configMap().name(), p + ".configMap.name");
      items(v.configMap().items(), p + ".configMap.items", null);
      mode(v.configMap().defaultMode(), p + ".configMap.defaultMode");
    }
    if (v.secret() != null) {
      requiredName(v.secret().secretName(), p + ".secret.secretName");
      items(v.secret().items(), p + ".secret.items", null);
      mode(v.secret().defaultMode(), p + ".secret.defaultMode");
    }
    if (v.downwardAPI() != null) {
      downwardItems(v.downwardAPI().items(), p + ".downwardAPI.items", null);
      mode(v.downwardAPI().defaultMode(), p + ".downwardAPI.defaultMode");
    }
    if (v.projected() != null) {
      mode(v.projected().defaultMode(), p + ".projected.defaultMode");
      List<VolumeProjection> srcs = list(v.projected().sources());
      for (int i = 0; i < srcs.size(); i++) {
        VolumeProjection s = srcs.get(i);
        String sp = p + ".projected.sources[" + i + "]";
        int n = (s.configMap() != null ? 1 : 0) + (s.secret() != null ? 1 : 0) + (s.downwardAPI() != null ? 1 : 0);
        if (n != 1) {
          errors.add(Problem.forbidden(sp, "may not specify more than 1 volume type per source"));
        }
        if (s.configMap() != null) {
          requiredName(s.configMap().name(), sp + ".configMap.name");
          items(s.configMap().items(), sp + ".configMap.items", files);
        }
        if (s.secret() != null) {
          requiredName(s.secret().name(), sp + ".secret.name");
          items(s.secret().items(), sp + ".secret.items", files);
        }
        if (s.downwardAPI() != null) {
          downwardItems(s.downwardAPI().items(), sp + ".downwardAPI.items", files);
        }
      }
    }
  }

  private void requiredName(String name, String p) {
    if (name == null || name.isEmpty()) {
      errors.add(Problem.required(p));
    } else {
      String e = Names.dns1123Subdomain(name);
      if (e != null) {
        errors.add(Problem.invalid(p, name, e));
      }
    }
  }

  private void items(List<KeyToPath> items, String p, Set<String> files) {
    List<KeyToPath> list = list(items);
    for (int i = 0; i < list.size(); i++) {
      KeyToPath k = list.get(i);
      if (k.key() == null || k.key().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].key"));
      }
      if (k.path() == null || k.path().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].path"));
      } else {
        payloadPath(k.path(), p + "[" + i + "].path", files);
      }
      mode(k.mode(), p + "[" + i + "].mode");
    }
  }

  private void downwardItems(List<DownwardAPIVolumeFile> items, String p, Set<String> files) {
    List<DownwardAPIVolumeFile> list = list(items);
    for (int i = 0; i < list.size(); i++) {
      DownwardAPIVolumeFile f = list.get(i);
      if (f.path() == null || f.path().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].path"));
      } else {
        payloadPath(f.path(), p + "[" + i + "].path", files);
      }
      if (f.fieldRef() == null) {
        errors.add(Problem.required(p + "[" + i + "].fieldRef"));
      } else {
        fieldRef(f.fieldRef(), p + "[" + i + "].fieldRef", VOLUME_FIELD_PATHS);
      }
      mode(f.mode(), p + "[" + i + "].mode");
    }
  }

  private void mode(Integer mode, String p) {
    if (mode != null && (mode < 0 || mode > 0777)) {
      errors.add(Problem.invalid(p, mode, "must be a number between 0 and 0777 (octal), both inclusive"));
    }
  }

  /**
   * A file a volume projects ({@link LocalPaths#payloadFile}); in a projected volume, once across
   * its sources as the agent cleans it ({@code "a"} and {@code "./a"} are one file: Kubernetes'
   * "conflicting duplicate paths"). {@code files} is null for the other volumes, where Kubernetes
   * keeps the last item of a path.
   */
  private void payloadPath(String path, String p, Set<String> files) {
    relativePath(path, p);
    String clean = LocalPaths.descending(path);
    if (clean == null) {
      return;
    }
    if (LocalPaths.payloadFile(path) == null) { // the kubelet's atomic writer refuses these too, at every mount
      errors.add(Problem.invalid(p, path, clean.isEmpty() ? "must name a file in the volume" : "must not start with '..'"));
    } else if (files != null && !files.add(clean)) {
      errors.add(Problem.invalid(p, path, "conflicting duplicate paths: another source of the volume writes " + clean));
    }
  }
}
