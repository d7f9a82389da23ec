package io.dsfleet.agent.runtime;

import com.sun.jna.LastErrorException;
import io.dsfleet.agent.hostfs.ProcNames;
import io.dsfleet.common.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Ends an exec (a probe's, a hook's) that outlived its timeout, as containerd's CRI does for the
 * kubelet: Docker has no call that ends an exec, and a process left running keeps what dockerd and
 * the container's shim hold for it (80 KB of dockerd's memory, 5 of its descriptors and 10 of the
 * shim's each, outside the pod's limits) for as long as it runs; a readiness probe that hangs left
 * one more every period. The exec's process (Docker's {@code Pid}, a host PID) and the processes
 * below it are killed: the shell of a {@code sh -c} probe and the command it waits on.
 *
 * <p>No process outside the container is ever signalled: each one is opened as a pidfd first, its
 * cgroup read after, and the signal sent through the pidfd, so a process that ended and whose PID
 * was reused meanwhile gets nothing (the pidfd names the one that ended), and one not in the
 * container's cgroup is left alone. Where pidfds are missing (Linux before 5.3) nothing is killed.
 */
final class TimedOutExecs {
  /** pidfd_open(2) and pidfd_send_signal(2): the same numbers on x86-64 and arm64. */
  private static final long PIDFD_OPEN = 434;
  private static final long PIDFD_SEND_SIGNAL = 424;
  private static final int SIGKILL = 9;
  private static final Pattern CONTAINER_ID = Pattern.compile("[0-9a-f]{64}");

  private TimedOutExecs() {}

  /**
   * Kills the exec's process {@code pid} and the processes below it, those in the container
   * {@code containerId}'s cgroup; how many were signalled.
   */
  static int end(String containerId, long pid) {
    if (pid <= 1 || containerId == null || !CONTAINER_ID.matcher(containerId).matches()) {
      return 0;
    }
    List<Long> below = descendants(Path.of("/proc"), pid).pids(); // read while the exec's process lives: its children are still its own
    int killed = kill(containerId, pid) ? 1 : 0; // then it first: it forks no more
    for (long n : below) {
      if (kill(containerId, n)) {
        killed++;
      }
    }
    return killed;
  }

  /** The most descendants of an exec's process looked for. */
  static final int MAX_DESCENDANTS = 4096;

  /**
   * The most threads' {@code children} files read for one exec: each thread has one, and without
   * a bound an exec whose process ran 100,000 threads had every timeout of its probe (each second,
   * say) read them all, 14-18 us a file: 1.4-1.8 s of the agent's CPU each time (helper-191's note).
   */
  static final int MAX_TASKS_READ = 16_384;

  /**
   * The most bytes of a {@code children} file a PID takes: Linux's largest (4,194,304) and the
   * space after it. A file is read only as far as the PIDs still looked for can reach; before,
   * a thread's whole file was: 38 ms a read for 20,000 children here (8 ms now), growing with the
   * square of their number (the kernel walks the thread's children from the first again for each
   * page of the file, holding the host's tasklist lock), and 250,000 took 17-20 MiB of the
   * agent's 48 MiB heap to split (helper-195).
   */
  static final int PID_BYTES = 8;

  /** The processes found below an exec's, and how many threads' {@code children} files and bytes of them were read. */
  record Found(List<Long> pids, int tasksRead, long bytesRead) {}

  /**
   * The processes below {@code pid}, as each thread's {@code children} file in {@code proc} names
   * them (no walk of all of /proc: a probe timing out each second on a host of 10,000 processes
   * would read them all each time), at most {@link #MAX_DESCENDANTS}, reading at most
   * {@link #MAX_TASKS_READ} files and of each what the rest of those PIDs can take; none where
   * the kernel has no such file.
   */
  static Found descendants(Path proc, long pid) {
    List<Long> out = new ArrayList<>();
    int read = 0;
    long bytes = 0;
    java.util.ArrayDeque<Long> next = new java.util.ArrayDeque<>(List.of(pid));
    while (!next.isEmpty() && out.size() < MAX_DESCENDANTS && read < MAX_TASKS_READ) {
      long p = next.poll();
      try (var tasks = Files.newDirectoryStream(proc.resolve(p + "/task"))) {
        for (Path task : tasks) {
          if (read == MAX_TASKS_READ || out.size() == MAX_DESCENDANTS) {
            break;
          }
          read++;
          String text;
          try (var in = Files.newInputStream(task.resolve("children"))) {
            byte[] head = in.readNBytes((MAX_DESCENDANTS - out.size()) * PID_BYTES);
            bytes += head.length;
            text = new String(head, java.nio.charset.StandardCharsets.US_ASCII);
          } catch (IOException | RuntimeException gone) {
            continue;
          }
          // the kernel ends each PID with a space: what follows the last one is a PID the bound cut
          for (String child : text.substring(0, text.lastIndexOf(' ') + 1).trim().split(" ")) {
            if (!child.isEmpty() && ProcNames.isPid(child) && out.size() < MAX_DESCENDANTS) {
              long c = Long.parseLong(child);
              out.add(c);
              next.add(c);
            }
          }
        }
      } catch (IOException | RuntimeException gone) {
        // ended meanwhile
      }
    }
    return new Found(out, read, bytes);
  }

  /** SIGKILL to process {@code n} through a pidfd, if it is in the container's cgroup when its pidfd is open. */
  private static boolean kill(String containerId, long n) {
    int fd;
    try {
      fd = (int) LibC.get().syscall(PIDFD_OPEN, n, 0, 0, 0, 0);
    } catch (LastErrorException e) {
      return false; // ended (ESRCH), or no pidfds here
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      return false;
    }
    try {
      String cgroup;
      try {
        cgroup = Files.readString(Path.of("/proc/" + n + "/cgroup"));
      } catch (IOException gone) {
        return false;
      }
      if (!inContainer(cgroup, containerId)) {
        return false;
      }
      LibC.get().syscall(PIDFD_SEND_SIGNAL, fd, SIGKILL, 0, 0, 0);
      return true;
    } catch (LastErrorException ended) {
      return false; // the process the pidfd names ended (ESRCH): a PID reused since is never signalled
    } finally {
      try {
        LibC.get().close(fd);
      } catch (LastErrorException e) {
        // closing: nothing to do
      }
    }
  }

  /** Whether a /proc cgroup file names the container (cgroupfs' {@code /docker/ID}, systemd's {@code docker-ID.scope}). */
  static boolean inContainer(String cgroup, String containerId) {
    for (int at = cgroup.indexOf(containerId); at >= 0; at = cgroup.indexOf(containerId, at + 1)) {
      int end = at + containerId.length();
      if ((at == 0 || !hex(cgroup.charAt(at - 1))) && (end == cgroup.length() || !hex(cgroup.charAt(end)))) {
        return true;
      }
    }
    return false;
  }

  private static boolean hex(char c) {
    return c >= '0' && c <= '9' || c >= 'a' && c <= 'f';
  }
}
