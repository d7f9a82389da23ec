package io.dsfleet.e2e;

/**
 * A test class's fleet, as a JUnit extension: brought up before its first scenario, every
 * DaemonSet left deleted after each one (so scenarios do not depend on each other's leftovers),
 * every log printed for a failed one, everything removed after the last.
 */
final class FleetPerClass implements org.junit.jupiter.api.extension.BeforeAllCallback,
    org.junit.jupiter.api.extension.AfterEachCallback, org.junit.jupiter.api.extension.AfterAllCallback,
    org.junit.jupiter.api.extension.TestWatcher {
  private final int hosts;
  private final String[] coordinatorFlags;
  private boolean scenariosAtOnce;
  TestFleet fleet;

  FleetPerClass(int hosts, String... coordinatorFlags) {
    this.hosts = hosts;
    this.coordinatorFlags = coordinatorFlags;
  }

  /**
   * For a class whose scenarios run at once (@Execution(CONCURRENT)): after each, only the
   * DaemonSets it applied are deleted (and their containers awaited gone), not the others'.
   */
  FleetPerClass scenariosAtOnce() {
    scenariosAtOnce = true;
    return this;
  }

  @Override
  public void beforeAll(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
    fleet = TestFleet.up(hosts, coordinatorFlags);
  }

  @Override
  public void afterEach(org.junit.jupiter.api.extension.ExtensionContext context) {
    if (scenariosAtOnce) {
      fleet.deleteDaemonSetsAppliedHere();
    } else {
      fleet.deleteEveryDaemonSet();
    }
  }

  @Override
  public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
    if (fleet != null) {
      System.out.println("==== " + context.getDisplayName() + " failed: " + cause + "\n" + fleet.logs());
    }
  }

  @Override
  public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) {
    if (fleet != null) {
      fleet.close();
    }
  }
}
