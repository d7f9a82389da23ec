package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mounts the agent makes on the host, through mount(8) and umount(8) as the kubelet does: a tmpfs
 * for Secret volumes and {@code emptyDir.medium: Memory}, and bind mounts that pin a resolved
 * subPath. What is mounted is read back from {@code /proc/self/mountinfo}, never remembered only
 * in memory, so a restarted agent unmounts what an earlier one left.
 */
public class Mounts {
  private final Path mountinfo;

  public Mounts() {
    this(Path.of("/proc/self/mountinfo"));
  }

  Mounts(Path mountinfo) {
    this.mountinfo = mountinfo;
  }

  /** A tmpfs at {@code dir}; options such as "mode=0755,size=16777216". */
  public void tmpfs(Path dir, String options) throws IOException {
    run("mount", "-t", "tmpfs", "-o", "nosuid,nodev," + options, "dsfleet-tmpfs", dir.toString());
  }

  /**
   * Binds {@code source} at {@code target} (which must exist). It keeps the propagation of where it
   * is, so its unmount reaches every copy a shared parent made.
   */
  public void bind(Path source, Path target) throws IOException {
    // --no-canonicalize: a /proc/PID/fd/N source reaches the kernel as it is, which resolves it to
    // the handle's inode; mount(8) would otherwise turn it back into a path string
    run("mount", "--no-canonicalize", "--bind", source.toString(), target.toString());
  }

  public void unmount(Path target) throws IOException {
    run("umount", target.toString());
  }

  /** Mount points at or below {@code dir}, deepest first. */
  public List<Path> under(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    for (String line : MountInfo.lines(mountinfo)) {
      MountInfo.Mount m = MountInfo.parse(line);
      Path p = m == null ? null : MountInfo.path(m.point());
      if (p != null && p.startsWith(dir)) {
        out.add(p);
      }
    }
    out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    return out;
  }

  public boolean isMountPoint(Path p) throws IOException {
    return under(p).contains(p);
  }

  /** Unmounts everything at or below {@code dir}; true when nothing is left mounted there. */
  public boolean unmountAll(Path dir) throws IOException {
    for (Path p : under(dir)) {
      try {
        unmount(p);
      } catch (IOException e) {
        // reported below by what is still mounted
      }
    }
    return under(dir).isEmpty();
  }

  private static void run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        return "";
      }
    });
    String out;
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + ": timed out after 30 s");
      }
      out = output.get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", cmd));
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      out = "";
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + ")" + (out.isEmpty() ? "" : ": " + out));
    }
  }
}
