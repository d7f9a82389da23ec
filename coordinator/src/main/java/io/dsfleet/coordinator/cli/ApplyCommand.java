package io.dsfleet.coordinator.cli;

import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ManifestSources;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ApplyResponse;
import io.dsfleet.proto.v1.ApplyResult;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `dsctl apply -f FILE|DIR|-`: validates locally first, then the coordinator applies all or nothing. */
@Command(name = "apply", description = "Create or update DaemonSets, ConfigMaps and Secrets from manifests.")
public final class ApplyCommand extends ClientCommand {
  @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE|DIR|-", description = "Manifest file, directory, or - for stdin. Repeatable.")
  List<String> files;

  @Option(names = "--dry-run", arity = "0..1", fallbackValue = "server", defaultValue = "none", paramLabel = "none|server",
      description = "server: the coordinator validates, reports what would change and the plan for the fleet (as dsctl diff"
          + " summarises it), and changes nothing; --dry-run alone is server (default none).")
  String dryRun;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    if (!dryRun.equals("none") && !dryRun.equals("server")) {
      throw new UsageException("--dry-run must be none or server, got \"" + dryRun + "\"" + (dryRun.equals("client")
          ? " (dsctl validate checks manifests without the coordinator)" : ""));
    }
    List<ManifestSources.Source> sources = read(files, err());
    if (sources == null) {
      return Dsctl.EXIT_USAGE;
    }
    boolean plan = dryRun.equals("server");
    int code = 0;
    for (ManifestSources.Source s : sources) {
      // dsctl validates early so a bad file never leaves this machine; the coordinator validates again
      if (!locallyValid(s, err())) {
        err().println("error: " + s.name() + " is invalid; nothing applied");
        code = Dsctl.EXIT_REFUSED;
        continue;
      }
      ApplyResponse r = control.apply(ApplyRequest.newBuilder().setManifests(s.text()).setSource(s.name()).setDryRun(plan)
          .setPlan(plan).build());
      for (String w : r.getWarningsList()) {
        err().println("Warning: " + w);
      }
      for (ApplyResult a : r.getResultsList()) {
        if (a.getAction().equals("skipped")) {
          out().println(a.getKind().toLowerCase() + "/" + a.getName() + " skipped (" + a.getNote() + ")");
        } else {
          out().println(a.getKind().toLowerCase() + "/" + a.getName() + " " + a.getAction() + (plan ? " (server dry run)" : ""));
          if (plan) {
            DiffCommand.summary(a).forEach(line -> out().println("  " + line));
          }
        }
      }
    }
    return code;
  }

  /**
   * Every input read (and its size checked) before anything is sent: one that cannot be read leaves
   * the coordinator as it was, not with the files before it applied. Null after saying why.
   */
  static List<ManifestSources.Source> read(List<String> files, java.io.PrintWriter err) {
    List<ManifestSources.Source> sources = new ArrayList<>();
    for (String f : files) {
      try {
        sources.addAll(ManifestSources.read(f, System.in));
      } catch (UncheckedIOException e) {
        err.println("error: " + e.getCause().getMessage());
        return null;
      }
    }
    return sources;
  }

  /** Whether a source passes dsctl's own validation; each problem printed. */
  static boolean locallyValid(ManifestSources.Source s, java.io.PrintWriter err) {
    boolean valid = true;
    for (ParsedDocument d : ManifestParser.parse(s.text(), s.name())) {
      for (var p : d.errors()) {
        err.println("error: " + d.label() + ": " + p);
        valid = false;
      }
    }
    return valid;
  }
}
