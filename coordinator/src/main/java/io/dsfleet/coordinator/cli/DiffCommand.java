package io.dsfleet.coordinator.cli;

import io.dsfleet.common.manifest.ManifestSources;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ApplyResponse;
import io.dsfleet.proto.v1.ApplyResult;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.NodeSkip;
import io.dsfleet.proto.v1.ObjectPlan;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `dsctl diff -f FILE|DIR|-` (kubectl diff's and `nomad job plan`'s job): for each object, its
 * change against what the coordinator stores, as a unified diff, and what applying it would do to
 * the fleet, computed by the coordinator with its own planner on the live fleet. Nothing is
 * stored. Exit codes as kubectl diff's: 0 nothing would change, 1 something would, 2 an error.
 */
@Command(name = "diff", description = {"Show what applying manifests would change, and do to the fleet; change nothing.",
    "Exit 0: no change; 1: changes; 2: an error (invalid manifest, coordinator unreachable, ...)."})
public final class DiffCommand extends ClientCommand {
  /** An error: kubectl diff's ">1". */
  static final int EXIT_ERROR = 2;
  /** Node names listed in one line at most; the rest are counted. */
  static final int NAMES = 10;

  @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE|DIR|-", description = "Manifest file, directory, or - for stdin. Repeatable.")
  List<String> files;

  @Override
  protected int errorExit() {
    return EXIT_ERROR;
  }

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    List<ManifestSources.Source> sources = ApplyCommand.read(files, err());
    if (sources == null) {
      return EXIT_ERROR;
    }
    if (!ApplyCommand.allLocallyValid(sources, err())) {
      return EXIT_ERROR;
    }
    boolean changes = false;
    for (ManifestSources.Source s : sources) {
      ApplyResponse r = control.apply(ApplyRequest.newBuilder().setManifests(s.text()).setSource(s.name()).setDryRun(true)
          .setPlan(true).build());
      for (String w : r.getWarningsList()) {
        err().println("Warning: " + w);
      }
      for (ApplyResult a : r.getResultsList()) {
        String object = a.getKind().toLowerCase() + "/" + a.getName();
        if (a.getAction().equals("skipped")) {
          err().println(object + " skipped (" + a.getNote() + ")");
          continue;
        }
        if (a.getAction().equals("unchanged")) {
          continue;
        }
        changes = true;
        out().print(a.getPlan().getDiff());
        out().println("# " + object + " " + a.getAction() + ":");
        summary(a).forEach(line -> out().println("#   " + line));
      }
    }
    out().flush();
    return changes ? 1 : 0;
  }

  /** What the plan of one object says, in lines for people. */
  static List<String> summary(ApplyResult a) {
    ObjectPlan p = a.getPlan();
    List<String> out = new ArrayList<>();
    if (a.getKind().equals("DaemonSet")) {
      if (p.getGainCount() > 0) {
        out.add("starts its pod on " + nodes(p.getGainList()));
      }
      if (p.getReplaceCount() > 0) {
        out.add("replaces its pod with the new revision on " + nodes(p.getReplaceList()) + ", " + (p.getStrategy().equals("OnDelete")
            ? "each when its pod is deleted (OnDelete)"
            : p.getSteps() + (p.getSteps() == 1 ? " step" : " steps") + " of at most " + (p.getMaxSurge() > 0
                ? p.getMaxSurge() + " surging" : p.getMaxUnavailable() + " unavailable") + " at a time (RollingUpdate)"));
      }
      if (p.getLoseCount() > 0) {
        out.add("removes its pod from " + nodes(p.getLoseList()));
      }
      if (p.getGainCount() + p.getReplaceCount() + p.getLoseCount() == 0) {
        out.add("no pod starts, stops or is replaced");
      }
      if (p.getSkipCount() > 0) {
        List<String> why = new ArrayList<>();
        for (NodeSkip k : p.getSkipList().subList(0, Math.min(NAMES, p.getSkipCount()))) {
          why.add(k.getNode() + " (" + k.getReason() + ")");
        }
        out.add("skips " + p.getSkipCount() + (p.getSkipCount() == 1 ? " node: " : " nodes: ") + String.join(", ", why)
            + (p.getSkipCount() > NAMES ? ", and " + (p.getSkipCount() - NAMES) + " more" : ""));
      }
      if (p.getNotReadyCount() > 0) {
        out.add("of those, NotReady (changed when they are back): " + nodes(p.getNotReadyList()));
      }
    } else {
      out.add(p.getUsedByCount() == 0 ? "used by no DaemonSet"
          : "used by " + String.join(", ", p.getUsedByList()) + ": no pod is replaced; files mounted from it change in place,"
              + " environment variables from it at each container's next start");
    }
    return out;
  }

  private static String nodes(List<String> names) {
    String listed = String.join(", ", names.subList(0, Math.min(NAMES, names.size())));
    return names.size() + (names.size() == 1 ? " node (" : " nodes (") + listed
        + (names.size() > NAMES ? ", and " + (names.size() - NAMES) + " more" : "") + ")";
  }
}
