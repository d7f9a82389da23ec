package io.dsfleet.agent.pod;

import io.dsfleet.common.model.*;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Puts a pod's volumes on disk under {@code podDir/volumes/NAME} and says where each one is.
 * ConfigMap, Secret, downward API and projected volumes are files written with their modes
 * (replaced atomically, file by file, when their source changes); emptyDir is a directory (or a
 * tmpfs per container for medium Memory); hostPath is checked against its type, and created
 * for DirectoryOrCreate and FileOrCreate, as the kubelet does.
 */
public final class Volumes {
  /** Where a volume is: a host path to bind, or a tmpfs. */
  public record Source(Path path, boolean tmpfs, String tmpfsOptions) {}

  private Volumes() {}

  public static Map<String, Source> prepare(PodContext ctx, PodSpec pod) {
    Map<String, Source> out = new HashMap<>();
    Long fsGroup = pod.securityContext() == null ? null : pod.securityContext().fsGroup();
    for (Volume v : list(pod.volumes())) {
      Path dir = ctx.podDir().resolve("volumes").resolve(v.name());
      if (v.hostPath() != null) {
        out.put(v.name(), new Source(hostPath(v.name(), v.hostPath()), false, null));
        continue;
      }
      if (v.emptyDir() != null && "Memory".equals(v.emptyDir().medium())) {
        String size = v.emptyDir().sizeLimit() == null ? "" : ",size=" + io.dsfleet.common.Quantities.bytes(v.emptyDir().sizeLimit());
        out.put(v.name(), new Source(null, true, "rw,nosuid,nodev" + size));
        continue;
      }
      mkdirs(dir, "rwxrwxrwx");
      if (v.configMap() != null) {
        ConfigMapVolumeSource s = v.configMap();
        write(dir, keys(ctx.configMaps(), "ConfigMap", s.name(), s.items(), s.optional()), mode(s.defaultMode()), fsGroup);
      } else if (v.secret() != null) {
        SecretVolumeSource s = v.secret();
        write(dir, keys(ctx.secrets(), "Secret", s.secretName(), s.items(), s.optional()), mode(s.defaultMode()), fsGroup);
      } else if (v.downwardAPI() != null) {
        write(dir, downward(ctx, v.downwardAPI().items()), mode(v.downwardAPI().defaultMode()), fsGroup);
      } else if (v.projected() != null) {
        Map<String, FileContent> files = new TreeMap<>();
        for (VolumeProjection p : list(v.projected().sources())) {
          if (p.configMap() != null) {
            files.putAll(keys(ctx.configMaps(), "ConfigMap", p.configMap().name(), p.configMap().items(), p.configMap().optional()));
          } else if (p.secret() != null) {
            files.putAll(keys(ctx.secrets(), "Secret", p.secret().name(), p.secret().items(), p.secret().optional()));
          } else if (p.downwardAPI() != null) {
            files.putAll(downward(ctx, p.downwardAPI().items()));
          }
        }
        write(dir, files, mode(v.projected().defaultMode()), fsGroup);
      } else if (fsGroup != null) {
        chgrp(dir, fsGroup);
      }
      out.put(v.name(), new Source(dir, false, null));
    }
    return out;
  }

  private record FileContent(byte[] data, Integer mode) {}

  private static Map<String, FileContent> keys(Map<String, Map<String, byte[]>> all, String kind, String name,
      List<KeyToPath> items, Boolean optional) {
    Map<String, byte[]> data = all.get(name);
    Map<String, FileContent> files = new TreeMap<>();
    if (data == null) {
      if (Boolean.TRUE.equals(optional)) {
        return files;
      }
      throw new PodConfigError("CreateContainerConfigError", kind.toLowerCase() + " \"" + name + "\" not found");
    }
    if (items == null || items.isEmpty()) {
      data.forEach((k, v) -> files.put(k, new FileContent(v, null)));
    } else {
      for (KeyToPath item : items) {
        byte[] v = data.get(item.key());
        if (v == null) {
          if (Boolean.TRUE.equals(optional)) {
            continue;
          }
          throw new PodConfigError("CreateContainerConfigError", "key \"" + item.key() + "\" not found in " + kind.toLowerCase() + " \"" + name + "\"");
        }
        files.put(item.path(), new FileContent(v, item.mode()));
      }
    }
    return files;
  }

  private static Map<String, FileContent> downward(PodContext ctx, List<DownwardAPIVolumeFile> items) {
    Map<String, FileContent> files = new TreeMap<>();
    for (DownwardAPIVolumeFile f : list(items)) {
      String value = Env.fieldValue(ctx, f.fieldRef().fieldPath(), null);
      files.put(f.path(), new FileContent(value.getBytes(StandardCharsets.UTF_8), f.mode()));
    }
    return files;
  }

  private static void write(Path dir, Map<String, FileContent> files, int defaultMode, Long fsGroup) {
    try {
      for (var e : files.entrySet()) {
        Path target = dir.resolve(e.getKey()).normalize();
        if (!target.startsWith(dir)) {
          throw new PodConfigError("CreateContainerConfigError", "volume path escapes its volume: " + e.getKey());
        }
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.write(tmp, e.getValue().data());
        int mode = e.getValue().mode() == null ? defaultMode : e.getValue().mode();
        Files.setPosixFilePermissions(tmp, perms(mode));
        if (fsGroup != null) {
          chgrp(tmp, fsGroup);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path hostPath(String volume, HostPathVolumeSource h) {
    Path p = Path.of(h.path());
    String type = h.type() == null ? "" : h.type();
    try {
      switch (type) {
        case "DirectoryOrCreate" -> {
          if (!Files.exists(p)) {
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, perms(0755));
          } else if (!Files.isDirectory(p)) {
            throw mismatch(volume, p, "a directory");
          }
        }
        case "Directory" -> {
          if (!Files.isDirectory(p)) {
            throw mismatch(volume, p, "an existing directory");
          }
        }
        case "FileOrCreate" -> {
          if (!Files.exists(p)) {
            Files.createFile(p);
            Files.setPosixFilePermissions(p, perms(0644));
          } else if (!Files.isRegularFile(p)) {
            throw mismatch(volume, p, "a file");
          }
        }
        case "File" -> {
          if (!Files.isRegularFile(p)) {
            throw mismatch(volume, p, "an existing file");
          }
        }
        case "Socket", "CharDevice", "BlockDevice" -> {
          String want = switch (type) {
            case "Socket" -> "socket";
            case "CharDevice" -> "character special file";
            default -> "block special file";
          };
          if (!Files.exists(p) || !fileType(p).equals(want)) {
            throw mismatch(volume, p, "an existing " + want);
          }
        }
        default -> { } // "": no check, as Kubernetes
      }
    } catch (IOException e) {
      throw new PodConfigError("HostPathError", "hostPath volume \"" + volume + "\": " + e.getMessage());
    }
    return p;
  }

  private static String fileType(Path p) throws IOException {
    Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    int m = (Integer) mode & 0170000;
    return switch (m) {
      case 0140000 -> "socket";
      case 0020000 -> "character special file";
      case 0060000 -> "block special file";
      default -> "other";
    };
  }

  private static PodConfigError mismatch(String volume, Path p, String want) {
    return new PodConfigError("HostPathTypeMismatch", "hostPath volume \"" + volume + "\": " + p + " is not " + want);
  }

  static void mkdirs(Path dir, String perms) {
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(perms));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void chgrp(Path p, long gid) {
    try {
      Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Set<PosixFilePermission> perms(int mode) {
    StringBuilder b = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      b.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return PosixFilePermissions.fromString(b.toString());
  }

  private static int mode(Integer m) {
    return m == null ? 0644 : m;
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
