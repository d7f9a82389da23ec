package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.*;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `dsctl rollout status|history|undo ds/NAME`. */
@Command(name = "rollout", description = "Follow, list, pause, resume, undo and restart DaemonSet rollouts.",
    subcommands = {RolloutCommand.Status.class, RolloutCommand.History.class, RolloutCommand.Undo.class,
        RolloutCommand.Pause.class, RolloutCommand.Resume.class, RolloutCommand.Restart.class})
public final class RolloutCommand {
  @Command(name = "status", description = "Follow a rollout until it completes (exit 0), fails or times out (exit 1);"
      + " with --no-watch, print it once: exit 0 only when complete.")
  public static final class Status extends ClientCommand {
    @Mixin DsTarget ds;

    @Option(names = {"-w", "--watch"}, defaultValue = "true", negatable = true, fallbackValue = "true",
        description = "Follow until done (default); --no-watch prints the current state once (exit 1 unless complete).")
    boolean watch;

    @Option(names = "--timeout", paramLabel = "SECONDS|DURATION", defaultValue = "600", converter = Timeouts.class,
        description = "Give up after this long, exit 1: seconds or a duration (90s, 5m); 0 waits for good (default ${DEFAULT-VALUE} s).")
    java.time.Duration timeout;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      String name = ds.name();
      ControlServiceGrpc.ControlServiceBlockingStub stub = ControlServiceGrpc.newBlockingStub(channel());
      if (!timeout.isZero()) {
        stub = stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      Iterator<RolloutStatusEvent> events = stub.rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace(ds.namespace).setName(name).setWatch(watch).build());
      RolloutStatusEvent last = null;
      boolean bar = watch && System.console() != null; // following on a terminal: one line that moves; otherwise a line per change
      try {
        while (events.hasNext()) {
          last = events.next();
          if (bar && !last.getComplete() && !last.getFailed() && last.getDesired() > 0) {
            out().print("\r" + bar(last));
          } else {
            out().println((bar ? "\r\033[K" : "") + last.getMessage());
          }
          out().flush();
        }
      } catch (io.grpc.StatusRuntimeException e) {
        if (bar) {
          out().println();
        }
        if (e.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
          err().println("error: timed out waiting for the rollout of daemon set \"" + name + "\" after " + Timeouts.describe(timeout));
          return Dsctl.EXIT_REFUSED;
        }
        throw e;
      }
      if (last == null) {
        return Dsctl.EXIT_REFUSED;
      }
      if (last.getFailed()) {
        return Dsctl.EXIT_REFUSED;
      }
      // unlike kubectl --watch=false, which exits 0 whatever it printed: a script can ask "done?"
      return last.getComplete() ? 0 : Dsctl.EXIT_REFUSED;
    }
  }

  @Command(name = "history", description = "List a DaemonSet's revisions.")
  public static final class History extends ClientCommand {
    @Mixin DsTarget ds;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      String name = ds.name();
      RolloutHistoryResponse r = control.rolloutHistory(RolloutHistoryRequest.newBuilder().setNamespace(ds.namespace).setName(name).build());
      out().println("daemonset.apps/" + name);
      Table t = new Table("REVISION", "CHANGE-CAUSE", "TEMPLATE", "CREATED");
      for (RevisionView v : r.getRevisionsList()) {
        t.row(v.getRevision(), v.getChangeCause().isEmpty() ? "<none>" : v.getChangeCause(), v.getTemplateHash(),
            DescribeCommand.time(v.getCreatedAtMillis()));
      }
      t.print(out());
      return 0;
    }
  }

  /** A rollout's progress on one terminal line: updated of desired as a bar, available beside it. */
  static String bar(RolloutStatusEvent e) {
    int width = 30;
    int filled = (int) Math.round(width * (double) e.getUpdated() / Math.max(1, e.getDesired()));
    return "[" + "#".repeat(Math.min(width, filled)) + ".".repeat(Math.max(0, width - filled)) + "] " + e.getUpdated() + "/"
        + e.getDesired() + " updated, " + e.getAvailable() + " available" + (e.getPaused() ? " (paused)" : "") + "   ";
  }

  /** kubectl's restart ({@link io.dsfleet.coordinator.fleet.RolloutRestart#manifest}), on the version read. */
  @Command(name = "restart", description = "Replace every pod of a DaemonSet, node by node, as a rolling update does.")
  public static final class Restart extends ClientCommand {
    @Mixin DsTarget ds;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) throws Exception {
      String name = ds.name();
      DaemonSetView view = control.get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace(ds.namespace)
          .setName(name).build()).getDaemonSets(0);
      String manifest = io.dsfleet.coordinator.fleet.RolloutRestart.manifest(io.dsfleet.common.Json.mapper().readTree(view.getManifestJson()),
          view.getResourceVersion(), java.time.Instant.now(Dsctl.clock));
      ApplyResponse r = control.apply(ApplyRequest.newBuilder().setManifests(manifest).setSource("rollout restart").build());
      boolean changed = r.getResultsCount() > 0 && r.getResults(0).getAction().equals("configured");
      out().println("daemonset.apps/" + name + (changed ? " restarted" : " not restarted: " + (r.getResultsCount() == 0 ? "nothing applied"
          : r.getResults(0).getAction() + " (restarted at this very instant already)")));
      if (!changed) {
        return Dsctl.EXIT_REFUSED;
      }
      return 0;
    }
  }

  @Command(name = "undo", description = "Roll back to the previous revision (or --to-revision N), as a new revision.")
  public static final class Undo extends ClientCommand {
    @Mixin DsTarget ds;

    @Option(names = "--to-revision", defaultValue = "0", paramLabel = "N")
    long toRevision;

    @Option(names = "--resource-version", defaultValue = "0", paramLabel = "RV",
        description = "Only if the DaemonSet is still at this resourceVersion (dsctl get -o yaml shows it).")
    long resourceVersion;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      String name = ds.name();
      ApplyResponse r = control.rolloutUndo(RolloutUndoRequest.newBuilder().setNamespace(ds.namespace).setName(name)
          .setToRevision(toRevision).setResourceVersion(resourceVersion).build());
      out().println("daemonset.apps/" + name + " " + (r.getResultsCount() == 0 ? "rolled back" : r.getResults(0).getAction()));
      return 0;
    }
  }

  static int pause(ClientCommand cmd, ControlServiceGrpc.ControlServiceBlockingStub control, DsTarget ds, boolean paused) {
    String name = ds.name();
    control.rolloutPause(RolloutPauseRequest.newBuilder().setNamespace(ds.namespace).setName(name).setPaused(paused).build());
    cmd.out().println("daemonset.apps/" + name + (paused ? " paused" : " resumed"));
    return 0;
  }

  @Command(name = "pause", description = "Stop moving nodes to the new revision.")
  public static final class Pause extends ClientCommand {
    @Mixin DsTarget ds;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      return pause(this, control, ds, true);
    }
  }

  @Command(name = "resume", description = "Resume a paused (or failed) rollout.")
  public static final class Resume extends ClientCommand {
    @Mixin DsTarget ds;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      return pause(this, control, ds, false);
    }
  }
}
