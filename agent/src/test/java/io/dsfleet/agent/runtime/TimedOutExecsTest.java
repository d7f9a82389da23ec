package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How an exec's processes are found below it: from a /proc laid out as the kernel's (each thread's {@code children} file). */
class TimedOutExecsTest {
  @TempDir Path proc;

  private void task(long pid, long tid, String children) throws IOException {
    Path dir = Files.createDirectories(proc.resolve(pid + "/task/" + tid));
    Files.writeString(dir.resolve("children"), children);
  }

  @Test
  void everyProcessBelowTheExecsIsFoundThroughEachOfItsThreads() throws IOException {
    task(100, 100, "101 ");
    task(100, 105, "102 103 "); // a second thread of the exec's process forked two
    task(101, 101, "");
    task(102, 102, "104 ");
    task(103, 103, "");
    task(104, 104, "");
    TimedOutExecs.Found found = TimedOutExecs.descendants(proc, 100);
    assertThat(found.pids()).containsExactlyInAnyOrder(101L, 102L, 103L, 104L);
    assertThat(found.tasksRead()).isEqualTo(6);
  }

  @Test
  void aProcessOfThousandsOfThreadsIsReadOnlyUpToTheBound() throws IOException {
    int threads = TimedOutExecs.MAX_TASKS_READ + 2_000;
    for (int t = 0; t < threads; t++) {
      task(200, 200 + t, "");
    }
    TimedOutExecs.Found found = TimedOutExecs.descendants(proc, 200);
    assertThat(found.tasksRead()).as("children files read for a process of %d threads", threads).isEqualTo(TimedOutExecs.MAX_TASKS_READ);
    assertThat(found.pids()).isEmpty();
  }

  /**
   * A thread of 100,000 children (a pod without podPidsLimit can make them): its file is read only as far as the PIDs
   * looked for reach (its first 4,096), and a PID cut there is left out.
   */
  @Test
  void aThreadOf100000ChildrenIsReadOnlyAsFarAsThePidsLookedFor() throws IOException {
    StringBuilder children = new StringBuilder();
    for (long c = 1_000_000; c < 1_100_000; c++) {
      children.append(c).append(' ');
    }
    task(400, 400, children.toString());
    TimedOutExecs.Found found = TimedOutExecs.descendants(proc, 400);
    assertThat(found.bytesRead()).as("bytes of a children file of 800,000").isLessThanOrEqualTo(TimedOutExecs.MAX_DESCENDANTS * TimedOutExecs.PID_BYTES);
    assertThat(found.pids()).hasSize(TimedOutExecs.MAX_DESCENDANTS).startsWith(1_000_000L).endsWith(1_004_095L);

    task(500, 500, "501 502 5031"); // as a bound cuts it: 5031 is no child's whole PID
    assertThat(TimedOutExecs.descendants(proc, 500).pids()).containsExactly(501L, 502L);
  }

  @Test
  void aProcessThatEndedMeanwhileHasNoneBelowIt() {
    assertThat(TimedOutExecs.descendants(proc, 300)).isEqualTo(new TimedOutExecs.Found(java.util.List.of(), 0, 0));
  }
}
