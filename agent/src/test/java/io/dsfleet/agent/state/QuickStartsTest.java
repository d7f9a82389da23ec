package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The count of starts that ended early, after which a start leaves the saved desired set aside (helper-178). */
class QuickStartsTest {
  @TempDir Path dir;
  /** The starts' processes, ended whatever the test's outcome. */
  private final List<Process> started = new java.util.ArrayList<>();

  @org.junit.jupiter.api.AfterEach
  void endStarts() {
    started.forEach(Process::destroyForcibly);
  }

  @Test
  void afterThreeStartsThatNeverSettledTheNextLeavesTheSavedSetAsideUntilOneSettles() {
    assertThat(new QuickStarts(dir).begin()).as("first start").isFalse();
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(new QuickStarts(dir).begin()).as("three ended early before it").isTrue();
    QuickStarts fifth = new QuickStarts(dir);
    assertThat(fifth.begin()).as("and each one after, until one settles").isTrue();
    fifth.settled();
    assertThat(new QuickStarts(dir).begin()).isFalse();
  }

  @Test
  void aCountTheDiskDoesNotGiveIsZero() throws Exception {
    Files.writeString(dir.resolve("quick-starts"), "garbage");
    assertThat(new QuickStarts(dir).begin()).isFalse();
    Files.writeString(dir.resolve("quick-starts"), "9".repeat(100)); // over what it reads
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(Files.readString(dir.resolve("quick-starts")).strip()).isEqualTo("1");
  }

  /**
   * The agent's start as it counts itself ({@link QuickStarts#counted}), in a JVM of its own: three
   * starts each stopped by SIGTERM ({@code systemctl restart}, a reboot, an upgrade) do not have the
   * fourth leave the saved set aside; three killed without the JVM's shutdown (SIGKILL, as the
   * unit's -XX:+ExitOnOutOfMemoryError ends one: no shutdown hook runs) do. Before a review of
   * 2026-12-07 (helper-180) the stopped ones counted too, and the fourth start left every pod's
   * crashed containers dead until a coordinator answered.
   */
  @Test
  void startsStoppedInAnOrderlyWayDoNotCountAndStartsKilledDo() throws Exception {
    for (int i = 0; i < QuickStarts.LIMIT; i++) {
      Process p = start();
      assertThat(firstLine(p)).isEqualTo("leave false");
      p.destroy(); // SIGTERM
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(Files.readString(dir.resolve("quick-starts")).strip()).as("each stop took its start back").isEqualTo("0");
    Process fourth = start();
    assertThat(firstLine(fourth)).as("the fourth start after three stopped").isEqualTo("leave false");
    fourth.destroyForcibly(); // SIGKILL: counted
    assertThat(fourth.waitFor(30, TimeUnit.SECONDS)).isTrue();
    for (int i = 1; i < QuickStarts.LIMIT; i++) {
      Process p = start();
      assertThat(firstLine(p)).isEqualTo("leave false");
      p.destroyForcibly();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    Process next = start();
    assertThat(firstLine(next)).as("after three killed").isEqualTo("leave true");
    next.destroy();
    assertThat(next.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(dir.resolve("quick-starts")).strip()).as("a stop puts back what it found").isEqualTo("3");
  }

  /** A start whose command failed (an exception out of it, exit 1) counts, though its JVM's shutdown hooks run. */
  @Test
  void aStartThatExitsWithAnErrorCounts() throws Exception {
    for (int i = 0; i < QuickStarts.LIMIT; i++) {
      Process p = start("fail");
      assertThat(firstLine(p)).isEqualTo("leave false");
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(1);
    }
    Process next = start();
    assertThat(firstLine(next)).isEqualTo("leave true");
    next.destroy();
    assertThat(next.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  private Process start(String... how) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-cp", System.getProperty("java.class.path"), Start.class.getName(),
        dir.toString()));
    cmd.addAll(List.of(how));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    started.add(p);
    return p;
  }

  private static String firstLine(Process p) throws Exception {
    return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
  }

  /**
   * An agent's start, as far as its count goes (AgentMain.main and Run): counted, says whether it
   * leaves the set aside, and runs until ended, or with "fail" ends as a command that failed.
   */
  static final class Start {
    public static void main(String[] args) throws Exception {
      QuickStarts q = QuickStarts.counted(Path.of(args[0]));
      System.out.println("leave " + q.leaveSavedSet());
      System.out.flush();
      if (args.length > 1) {
        QuickStarts.exiting(1);
        System.exit(1);
      }
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}
