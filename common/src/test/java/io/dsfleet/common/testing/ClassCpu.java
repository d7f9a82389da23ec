package io.dsfleet.common.testing;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/**
 * The CPU each test class cost, written to {@code target/class-cpu/PID.txt} ("seconds class") for
 * {@code scripts/slowest-tests.sh}: the suite is bound by the machine's two cores, not by its
 * waits, so the classes that cost most CPU are where its time can be cut. The cost is the test
 * JVM's own CPU from the class's start to its end plus that of the child processes it reaped
 * meanwhile (agents, coordinators, the clients a test runs); not Docker's, nor that of processes
 * a test leaves to another to reap. A class that runs beside another in the same JVM (a
 * concurrent method) shares it. Every test JVM of every module loads it from common's test jar.
 */
public final class ClassCpu implements TestExecutionListener {
  private static final Path DIR = Path.of("target", "class-cpu");
  /** Clock ticks a second of /proc's CPU times (USER_HZ: 100 on Linux everywhere). */
  private static final double TICKS = 100;
  private final Map<String, Double> started = new ConcurrentHashMap<>();

  @Override
  public void executionStarted(TestIdentifier id) {
    String name = className(id);
    if (name != null) {
      started.put(name, cpuSeconds());
    }
  }

  @Override
  public void executionFinished(TestIdentifier id, TestExecutionResult result) {
    String name = className(id);
    Double from = name == null ? null : started.remove(name);
    if (from == null) {
      return;
    }
    String line = String.format(java.util.Locale.ROOT, "%.1f %s%n", cpuSeconds() - from, name);
    try {
      Files.createDirectories(DIR);
      Files.writeString(DIR.resolve(ProcessHandle.current().pid() + ".txt"), line, StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.err.println("ClassCpu: " + e); // a figure lost, never a test
    }
  }

  private static String className(TestIdentifier id) {
    return id.isContainer() && id.getSource().orElse(null) instanceof ClassSource c ? c.getClassName() : null;
  }

  /** This JVM's CPU and its reaped children's, in seconds. */
  private static double cpuSeconds() {
    double own = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    try {
      // /proc/self/stat: after the command's closing parenthesis, cutime and cstime are the 14th and 15th fields
      String stat = Files.readString(Path.of("/proc/self/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return own + (Long.parseLong(f[13]) + Long.parseLong(f[14])) / TICKS;
    } catch (IOException | RuntimeException e) {
      return own; // not Linux: the JVM's own
    }
  }
}
