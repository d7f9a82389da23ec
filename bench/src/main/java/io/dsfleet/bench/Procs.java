package io.dsfleet.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Processes: run one to completion, start one in the background, and read a process's CPU time and memory from /proc. */
final class Procs {
  private Procs() {}

  record Result(int exit, String out) {}

  /** The longest {@link #run(List)} lets a command run. */
  static final Duration RUN_TIMEOUT = Duration.ofSeconds(120);

  static Result run(List<String> cmd) {
    return run(cmd, RUN_TIMEOUT);
  }

  /**
   * Runs {@code cmd} to its end, or kills it after {@code timeout} (exit -1, with what it printed
   * until then). Its output is read beside the wait: a command that never closes it (a docker CLI
   * talking to a hung daemon) cannot hold the caller past the timeout.
   */
  static Result run(List<String> cmd, Duration timeout) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Thread reader = new Thread(() -> {
        try (var in = p.getInputStream()) {
          in.transferTo(out);
        } catch (IOException ended) {
          // the process killed: what it printed so far is kept
        }
      }, "procs-output");
      reader.setDaemon(true);
      reader.start();
      boolean ended = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!ended) {
        p.destroyForcibly();
      }
      reader.join(ended ? 0 : 1000);
      return new Result(ended ? p.exitValue() : -1, out.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String ok(String... cmd) {
    Result r = run(List.of(cmd));
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exit() + ": " + r.out());
    }
    return r.out();
  }

  static Process spawn(List<String> cmd, Path log) {
    return spawn(cmd, log, java.util.Map.of());
  }

  static Process spawn(List<String> cmd, Path log, java.util.Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env);
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * The start of the command of a JVM the benchmark makes (coordinators, simulators): {@link #java}
   * and the flags of the system property {@code dsfleet.bench.jvm}, none by default. The smoke
   * tests give {@code -XX:TieredStopAtLevel=1} (bench/pom.xml): they time nothing, and C2 compiling
   * in every short-lived coordinator took the test suite's CPU.
   */
  static List<String> jvm() {
    List<String> cmd = list(java());
    for (String flag : System.getProperty("dsfleet.bench.jvm", "").trim().split("\\s+")) {
      if (!flag.isEmpty()) {
        cmd.add(flag);
      }
    }
    return cmd;
  }

  /** user + system CPU time of a process, in milliseconds (from /proc/PID/stat; clock ticks of 10 ms). */
  static long cpuMillis(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      return ticks * 10;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Resident set size in MiB (VmRSS). */
  static double rssMib(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Double.NaN;
  }

  /** Java heap in use after a full GC, in MiB (jcmd GC.run, then GC.heap_info). */
  static double heapAfterGcMib(long pid) {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(List.of(jcmd, String.valueOf(pid), "GC.run"));
    String info = run(List.of(jcmd, String.valueOf(pid), "GC.heap_info")).out();
    long usedKb = 0;
    for (String line : info.split("\n")) {
      var m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(line);
      // the generations' or the heap's lines, in each collector's words (Serial: "def new generation",
      // "tenured generation"; Parallel: "PSYoungGen", "ParOldGen"; G1: "garbage-first heap"), not Metaspace's
      if (m.find() && (line.contains("generation") || line.contains("heap") || line.contains("PSYoungGen") || line.contains("ParOldGen"))) {
        usedKb += Long.parseLong(m.group(1));
      }
    }
    return usedKb / 1024.0;
  }

  /** Seconds a JVM has spent in garbage collection pauses so far (jstat's GCT), or NaN if jstat cannot read it. */
  static double gcSeconds(long pid) {
    String jstat = Path.of(System.getProperty("java.home"), "bin", "jstat").toString();
    String[] lines = run(List.of(jstat, "-gc", String.valueOf(pid))).out().trim().split("\n");
    if (lines.length < 2) {
      return Double.NaN;
    }
    List<String> names = List.of(lines[0].trim().split("\\s+"));
    String[] values = lines[lines.length - 1].trim().split("\\s+");
    int i = names.indexOf("GCT");
    return i < 0 || i >= values.length ? Double.NaN : Double.parseDouble(values[i]);
  }

  /** CPU used by a process over a window, as a percentage of one core. */
  static double cpuPercent(long pid, long windowMillis) throws InterruptedException {
    long c0 = cpuMillis(pid);
    long t0 = System.nanoTime();
    Thread.sleep(windowMillis);
    long c1 = cpuMillis(pid);
    double wall = (System.nanoTime() - t0) / 1e6;
    return 100.0 * (c1 - c0) / wall;
  }

  /** A live thread's name and the CPU time it ran, in nanoseconds (/proc/PID/task/TID/schedstat: exact, not clock ticks). */
  record ThreadCpu(String name, long nanos) {}

  /** Every live thread of a process, by thread id; a thread that ends while it is read is left out. */
  static Map<String, ThreadCpu> threadCpu(long pid) {
    Map<String, ThreadCpu> out = new HashMap<>();
    try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
      for (Path task : tasks.toList()) {
        try {
          String name = Files.readString(task.resolve("comm")).strip();
          long nanos = Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
          out.put(task.getFileName().toString(), new ThreadCpu(name, nanos));
        } catch (IOException | RuntimeException e) {
          // the thread ended between the listing and the read
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The {@code n} threads that ran longest between two {@link #threadCpu} samples, as "name 12.3 ms"
   * (a thread started meanwhile counts from zero; one that ended meanwhile is missing: the process's
   * own total, {@link #cpuMillis}, still has it).
   */
  static String busiestThreads(Map<String, ThreadCpu> before, Map<String, ThreadCpu> after, int n) {
    return after.entrySet().stream()
        .map(e -> new ThreadCpu(e.getValue().name(), e.getValue().nanos() - (before.containsKey(e.getKey()) ? before.get(e.getKey()).nanos() : 0)))
        .filter(t -> t.nanos() > 0)
        .sorted(Comparator.comparingLong(ThreadCpu::nanos).reversed())
        .limit(n)
        .map(t -> String.format(java.util.Locale.ROOT, "%s %.1f ms", t.name(), t.nanos() / 1e6))
        .collect(Collectors.joining(", "));
  }

  /**
   * CPU seconds the JVM's JIT compiler threads ran between two {@link #threadCpu} samples: at
   * least that much, as a compiler thread that ended meanwhile (the JVM starts more while its queue
   * is long and lets them go when idle) is missing.
   */
  static double compilerSeconds(Map<String, ThreadCpu> before, Map<String, ThreadCpu> after) {
    return after.entrySet().stream().filter(e -> e.getValue().name().matches("C[12] CompilerThre.*"))
        .mapToLong(e -> e.getValue().nanos() - (before.containsKey(e.getKey()) ? before.get(e.getKey()).nanos() : 0)).sum() / 1e9;
  }

  /**
   * The TCP connections served on {@code port} on this machine's loopback, by Linux state, from
   * /proc/net/tcp and tcp6 (the server's side: the local port is {@code port}): "ESTABLISHED 9,812,
   * CLOSE_WAIT 120" (CLOSE_WAIT: the client has closed, the server not yet).
   */
  static String serverConnections(int port) {
    Map<String, Integer> byState = new java.util.TreeMap<>();
    String hexPort = String.format(":%04X ", port);
    try {
      // tcp6 too: the JVM's sockets are IPv6 ones (IPv4 addresses mapped) where the host has IPv6
      for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
        for (String line : Files.readAllLines(Path.of(table))) {
          String[] f = line.trim().split("\\s+");
          if (f.length > 3 && (f[1] + " ").endsWith(hexPort) && !f[3].equals("0A")) { // 0A: the listening socket
            byState.merge(TCP_STATES.getOrDefault(f[3], f[3]), 1, Integer::sum);
          }
        }
      }
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
    StringBuilder out = new StringBuilder();
    byState.forEach((state, n) -> out.append(out.length() == 0 ? "" : ", ").append(state).append(' ').append(n));
    return out.length() == 0 ? "none" : out.toString();
  }

  private static final Map<String, String> TCP_STATES = Map.of("01", "ESTABLISHED", "02", "SYN_SENT", "03", "SYN_RECV", "04", "FIN_WAIT1",
      "05", "FIN_WAIT2", "06", "TIME_WAIT", "07", "CLOSE", "08", "CLOSE_WAIT", "09", "LAST_ACK", "0B", "CLOSING");

  static List<String> list(String... items) {
    return new ArrayList<>(List.of(items));
  }
}
