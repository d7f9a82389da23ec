package io.dsfleet.agent;

import io.dsfleet.common.testing.Processes;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The class path and JVM options the agent processes a test starts run with: this test JVM's class
 * path, its directories (the module's classes) packed into jars, and a class-data archive made once
 * from the agent's class list ({@code cds/ds-agent.classlist}, as {@code bin/ds-agent} makes one on
 * a host). The JVM maps no archive from a directory on the class path, and each agent's start costs
 * about 0.4 s of CPU less with one (0.85 -> 0.47 s to "running as node" here). The classes are the
 * same: a jar of a directory holds its files as they are.
 *
 * @param classPath the agents' class path
 * @param archiveOptions the options that map the archive (none where it could not be made: the agents start without it)
 */
record AgentProcessClassPath(String classPath, List<String> archiveOptions) {
  /** The options of a test agent's JVM: a short-lived JVM, started cheaply on a loaded machine. */
  static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

  /** Packs this JVM's class path's directories into jars in {@code dir} and makes the archive there. */
  static AgentProcessClassPath make(Path dir) throws IOException, InterruptedException {
    long start = System.nanoTime();
    List<String> entries = new ArrayList<>();
    int n = 0;
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(entry);
      if (Files.isDirectory(p)) {
        Path jar = dir.resolve(n++ + "-" + p.getFileName() + ".jar");
        pack(p, jar);
        entries.add(jar.toString());
      } else {
        entries.add(entry);
      }
    }
    String classPath = String.join(File.pathSeparator, entries);
    long packed = System.nanoTime();
    Path archive = dir.resolve("agent.jsa");
    List<String> dump = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    dump.addAll(JVM);
    dump.addAll(List.of("-Xshare:dump", "-XX:SharedClassListFile=" + Path.of("cds", "ds-agent.classlist").toAbsolutePath(),
        "-XX:SharedArchiveFile=" + archive, "-cp", classPath));
    Processes.Result r = Processes.run(new ProcessBuilder(dump), Duration.ofSeconds(120));
    if (r.exit() != 0 || !Files.isRegularFile(archive)) {
      String out = r.output().strip();
      System.out.println("agent processes start without a class-data archive: its dump failed (exit " + r.exit() + "): "
          + out.substring(out.lastIndexOf('\n') + 1));
      return new AgentProcessClassPath(classPath, List.of());
    }
    System.out.printf("agent processes' class path packed in %.1f s, its class-data archive made in %.1f s%n", (packed - start) / 1e9,
        (System.nanoTime() - packed) / 1e9);
    return new AgentProcessClassPath(classPath, List.of("-XX:SharedArchiveFile=" + archive));
  }

  private static void pack(Path dir, Path jar) throws IOException {
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out); Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
        j.putNextEntry(new JarEntry(dir.relativize(f).toString().replace(File.separatorChar, '/')));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
  }
}
