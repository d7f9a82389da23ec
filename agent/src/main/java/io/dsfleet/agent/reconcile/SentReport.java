package io.dsfleet.agent.reconcile;

import io.dsfleet.proto.v1.PodStatus;
import java.util.List;

/**
 * The last report a reconcile pass sent, and the version of the desired set that pass had taken: the
 * report's {@code applied_version}. A pass that took a newer set reports even when no pod changed: the
 * coordinator holds a node it moved back until a report says it is after the last set sent
 * (docs/rollouts.md); before 2026-12-07 such a set was reported by nothing.
 */
final class SentReport {
  private volatile List<PodStatus> pods;
  /** Written after {@link #pods}: one who reads it first, then the pods, never pairs a report with a newer version. */
  private volatile long version;

  /** The pods last reported; null before the first report. */
  List<PodStatus> pods() {
    return pods;
  }

  /** The pods last reported; none before the first report. */
  List<PodStatus> last() {
    List<PodStatus> p = pods;
    return p == null ? List.of() : p;
  }

  /** The version of the desired set the pass that built the last report had taken (0 before one had a set). */
  long version() {
    return version;
  }

  /** Whether a pass's report goes out (its pods changed, or it took a newer set), and if so, it is the last sent now. */
  boolean goesOut(List<PodStatus> report, long taken) {
    if (report.equals(pods) && taken == version) {
      return false;
    }
    pods = report;
    version = taken;
    return true;
  }
}
