package io.dsfleet.common.testing;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Awaitility checks a condition first when the wait starts, not one poll interval later (its
 * default): a wait whose condition already holds returns at once. Every test JVM of every module
 * loads this listener from common's test jar (META-INF/services); a wait on something that has
 * not happened yet polls as before. The delay cost each wait 100 ms, and each write of
 * ReplicatedStoreTest 50 ms, with nothing to wait for.
 */
public final class AwaitFromTheStart implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    Awaitility.setDefaultPollDelay(Duration.ZERO);
  }
}
