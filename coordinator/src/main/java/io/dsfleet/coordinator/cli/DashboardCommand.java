package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.DashboardLoginRequest;
import io.dsfleet.proto.v1.DashboardLoginResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `dsctl dashboard`: a login to the web dashboard for this credential (a viewer's reads; an admin's acts too), as a URL to open. */
@Command(name = "dashboard", description = "Print a URL that opens the web dashboard logged in with this credential.")
public final class DashboardCommand extends ClientCommand {
  @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "12h", description = "How long the login lasts (default"
      + " ${DEFAULT-VALUE}, at most 24h; a coordinator restart ends it).")
  String ttl;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    DashboardLoginResponse r = control.dashboardLogin(DashboardLoginRequest.newBuilder().setTtlSeconds(duration("--ttl", ttl).toSeconds())
        .build());
    out().println(r.getUrl());
    err().println("logged in as " + r.getRole() + " until " + java.time.Instant.ofEpochMilli(r.getExpiresAtMillis())
        + " (the URL is the login: do not share it; the coordinator's certificate is signed by the fleet CA)");
    return 0;
  }
}
