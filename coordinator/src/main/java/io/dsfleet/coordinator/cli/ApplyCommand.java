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

  @Option(names = "--dry-run", description = "Validate and report what would change; change nothing.")
  boolean dryRun;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    // every input is read (and its size checked) before anything is sent: one that cannot be read
    // leaves the coordinator as it was, not with the files before it applied
    List<ManifestSources.Source> sources = new ArrayList<>();
    for (String f : files) {
      try {
        sources.addAll(ManifestSources.read(f, System.in));
      } catch (UncheckedIOException e) {
        err().println("error: " + e.getCause().getMessage());
        return Dsctl.EXIT_USAGE;
      }
    }
    int code = 0;
    for (ManifestSources.Source s : sources) {
      // dsctl validates early so a bad file never leaves this machine; the coordinator validates again
      boolean invalid = false;
      for (ParsedDocument d : ManifestParser.parse(s.text(), s.name())) {
        for (var p : d.errors()) {
          err().println("error: " + d.label() + ": " + p);
          invalid = true;
        }
      }
      if (invalid) {
        err().println("error: " + s.name() + " is invalid; nothing applied");
        code = Dsctl.EXIT_REFUSED;
        continue;
      }
      ApplyResponse r = control.apply(ApplyRequest.newBuilder().setManifests(s.text()).setSource(s.name()).setDryRun(dryRun).build());
      for (String w : r.getWarningsList()) {
        err().println("Warning: " + w);
      }
      for (ApplyResult a : r.getResultsList()) {
        if (a.getAction().equals("skipped")) {
          out().println(a.getKind().toLowerCase() + "/" + a.getName() + " skipped (" + a.getNote() + ")");
        } else {
          out().println(a.getKind().toLowerCase() + "/" + a.getName() + " " + a.getAction() + (dryRun ? " (dry run)" : ""));
        }
      }
    }
    return code;
  }
}
