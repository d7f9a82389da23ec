package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agent's start reads of its host (the node's memory, the descriptor limit its metrics
 * endpoint's connection cap is cut from, the C library's binding) and its reading of a pod's
 * template load no more than they need (docs/agent.md, "Footprint"): in a JVM of their own, nothing
 * of java.lang.management (the JDK's OperatingSystemMXBean loaded about 70 classes and its cgroup
 * code for two numbers), no process (JNA ran /sbin/ldconfig -p on its first library: the JDK's
 * process classes and a reaper thread), no YAML mapper and no java.time module for a template read
 * as JSON. What the agent loads is what its class-data archive holds, mapped whole at every start.
 */
class StartFootprintTest {
  /** The start's reads and a template's, in a JVM of their own; prints what they gave and the threads left. */
  public static final class Reads {
    public static void main(String[] args) {
      System.out.println("memory " + io.dsfleet.common.HostMemory.total()); // as AgentMain.nodeInfo reads it
      System.out.println("fds " + io.dsfleet.common.FileDescriptors.limit());
      try {
        io.dsfleet.common.LibC.get().close(-1);
      } catch (com.sun.jna.LastErrorException e) {
        System.out.println("close(-1): errno " + e.getErrorCode());
      }
      String json = "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}";
      var state = io.dsfleet.proto.v1.DesiredState.newBuilder().addPods(io.dsfleet.proto.v1.DesiredPod.newBuilder()
          .setNamespace("default").setPodName("p").setDaemonSet("d").setTemplateHash("abc")
          .setTemplateJson(com.google.protobuf.ByteString.copyFromUtf8(json))).build();
      var pod = io.dsfleet.agent.reconcile.DesiredPod.parse(state, java.util.Map.of(), "n", "127.0.0.1",
          Path.of(args[0]), "test").get("default/p");
      System.out.println("template " + pod.template().spec().containers().get(0).name());
      System.out.println("threads " + Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList());
    }
  }

  @Test
  void theStartsReadsAndATemplatesReadLoadNoMoreThanTheyUse(@TempDir Path dir) throws Exception {
    Path classes = dir.resolve("classes.log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xshare:off", "-Xlog:class+load=info:file=" + classes, "-cp", System.getProperty("java.class.path"), Reads.class.getName(), dir.resolve("pods").toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();

    var bean = (com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long meminfo = Long.parseLong(Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
        .findFirst().orElseThrow().replaceAll("[^0-9]", "")) * 1024;
    assertThat(out).as("the host's memory, MemTotal").contains("memory " + meminfo + "\n")
        .as("the soft limit on open files, as the JDK's bean gives it").contains("fds " + bean.getMaxFileDescriptorCount() + "\n")
        .as("the binding works: EBADF").contains("close(-1): errno 9\n")
        .as("the template read").contains("template c\n")
        .as("no process started, so no reaper thread").doesNotContain("process reaper");
    String loaded = Files.readString(classes);
    assertThat(loaded).as("the C library was loaded through JNA").contains(" com.sun.jna.NativeLibrary ")
        .as("no management bean").doesNotContain(" java.lang.management.ManagementFactory ")
        .as("no cgroup metrics").doesNotContain(" jdk.internal.platform.CgroupMetrics ")
        .as("no process").doesNotContain(" java.lang.ProcessBuilder ")
        .as("a template read as JSON").contains(" io.dsfleet.common.Json ")
        .as("no YAML mapper for it").doesNotContain(" com.fasterxml.jackson.dataformat.yaml.YAMLMapper ")
        .doesNotContain(" org.yaml.snakeyaml.")
        .as("nor java.time's module").doesNotContain(" com.fasterxml.jackson.datatype.jsr310.");
  }
}
