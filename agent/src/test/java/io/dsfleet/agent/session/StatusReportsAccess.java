package io.dsfleet.agent.session;

import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import java.util.List;

/** The report the session sends for a reconcile pass's statuses, for tests of other packages. */
public final class StatusReportsAccess {
  private StatusReportsAccess() {}

  public static PodStatusReport report(List<PodStatus> pods) {
    return StatusReports.report(pods, 0);
  }
}
