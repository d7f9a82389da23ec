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
    // dsctl validates early so a bad file never leaves this machine; the coordinator validates
    // again. Every input before the first is sent: until 2026-12-08 each was checked just before it
    // was sent, so `apply -f DIR` with one invalid file applied the files on either side of it (and
    // said "nothing applied"), and an object in two files was applied twice, the last one winning
    if (!allLocallyValid(sources, err())) {
      err().println("error: nothing applied");
      return Dsctl.EXIT_REFUSED;
    }
    for (ManifestSources.Source s : sources) {
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
    return 0;
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

  /**
   * Whether the sources pass dsctl's own validation, each problem printed: every document valid,
   * and no object (kind, namespace, name) in two documents of them, which the coordinator refuses
   * in one apply and which in two would be applied twice, the last winning.
   */
  static boolean allLocallyValid(List<ManifestSources.Source> sources, java.io.PrintWriter err) {
    boolean valid = true;
    java.util.Map<String, String> seen = new java.util.HashMap<>();
    for (ManifestSources.Source s : sources) {
      for (ParsedDocument d : ManifestParser.parse(s.text(), s.name())) {
        for (var p : d.errors()) {
          err.println("error: " + d.label() + ": " + p);
          valid = false;
        }
        var o = d.object();
        String first = o == null ? null : seen.putIfAbsent(o.kind() + "/" + o.namespace() + "/" + o.name(), d.label());
        if (first != null) {
          err.println("error: " + d.label() + ": the same object appears twice in one apply (first in " + first + ")");
          valid = false;
        }
      }
    }
    return valid;
  }
}
