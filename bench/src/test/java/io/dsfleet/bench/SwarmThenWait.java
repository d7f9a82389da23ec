package io.dsfleet.bench;

/**
 * A benchmark's JVM cut short: it makes its one-node swarm, says so, and waits to be stopped (by
 * {@link BenchSmokeTest}, as Ctrl-C or a kill would stop a run).
 */
public final class SwarmThenWait {
  private SwarmThenWait() {}

  public static void main(String[] args) throws InterruptedException {
    new Swarm("unix:///var/run/docker.sock").init("127.0.0.1");
    System.out.println("in a swarm of ours");
    System.out.flush();
    Thread.sleep(120_000);
  }
}
