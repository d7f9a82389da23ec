package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ProcsTest {
  /** A command that outlives its time is killed, and the call returns with what it printed: its open output does not hold the caller. */
  @Test
  void aCommandThatOutlivesItsTimeIsKilledWithWhatItPrinted() {
    long start = System.nanoTime();
    Procs.Result r = Procs.run(Procs.list("sh", "-c", "echo started; exec sleep 60"), java.time.Duration.ofMillis(500));
    assertThat(r.exit()).isEqualTo(-1);
    assertThat(r.out()).contains("started");
    assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).as("not the command's 60 s").isLessThan(java.time.Duration.ofSeconds(30));
    Procs.Result done = Procs.run(Procs.list("sh", "-c", "echo out; echo err >&2; exit 3"));
    assertThat(done.exit()).isEqualTo(3);
    assertThat(done.out()).contains("out").contains("err");
  }

  @Test
  void busiestThreadsAreTheLongestRunningSinceTheFirstSampleOnesStartedMeanwhileCountingFromZero() {
    Map<String, Procs.ThreadCpu> before = Map.of(
        "1", new Procs.ThreadCpu("main", 5_000_000),
        "2", new Procs.ThreadCpu("reconcile", 1_000_000),
        "3", new Procs.ThreadCpu("idle", 9_000_000),
        "4", new Procs.ThreadCpu("ended", 1_000_000));
    Map<String, Procs.ThreadCpu> after = Map.of(
        "1", new Procs.ThreadCpu("main", 6_000_000), // 1 ms
        "2", new Procs.ThreadCpu("reconcile", 4_500_000), // 3.5 ms
        "3", new Procs.ThreadCpu("idle", 9_000_000), // none: left out
        "5", new Procs.ThreadCpu("new", 2_000_000)); // started meanwhile: 2 ms
    assertThat(Procs.busiestThreads(before, after, 5)).isEqualTo("reconcile 3.5 ms, new 2.0 ms, main 1.0 ms");
    assertThat(Procs.busiestThreads(before, after, 1)).isEqualTo("reconcile 3.5 ms");
  }

  @Test
  void aLiveProcessesThreadsAreReadWithTheirNamesAndGrowingTimes() throws Exception {
    long pid = ProcessHandle.current().pid();
    assertThat(Procs.threadCpu(pid).values()).as("this JVM's threads, by the names it gave them").anyMatch(t -> t.name().equals("Finalizer"));
    java.util.concurrent.CountDownLatch spun = new java.util.concurrent.CountDownLatch(1);
    Thread spinning = new Thread(() -> {
      // 150 ms of its own CPU time, however loaded the machine, then idle until interrupted
      var bean = java.lang.management.ManagementFactory.getThreadMXBean();
      while (bean.getCurrentThreadCpuTime() < 150_000_000L) {
        Thread.onSpinWait();
      }
      spun.countDown();
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "procs-spin");
    Map<String, Procs.ThreadCpu> start = Procs.threadCpu(pid);
    spinning.start();
    spun.await();
    String busiest = Procs.busiestThreads(start, Procs.threadCpu(pid), 5);
    spinning.interrupt();
    spinning.join();
    String spin = java.util.Arrays.stream(busiest.split(", ")).filter(t -> t.startsWith("procs-spin ")).findFirst().orElseThrow(
        () -> new AssertionError("the spinning thread is not among the busiest: " + busiest));
    assertThat(Double.parseDouble(spin.substring("procs-spin ".length(), spin.length() - " ms".length()))).isGreaterThanOrEqualTo(150);
  }
}
