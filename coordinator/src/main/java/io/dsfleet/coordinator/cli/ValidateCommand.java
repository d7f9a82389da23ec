package io.dsfleet.coordinator.cli;

import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ManifestSources;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.manifest.Problem;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** `dsctl validate -f FILE|DIR|-`: offline, no coordinator needed. */
@Command(name = "validate", description = "Check manifests offline: per document OK, warnings or errors.",
    footer = {"", "Exit codes: 0 all valid, 1 some invalid, 2 unreadable input."})
public final class ValidateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE|DIR|-",
      description = "File, directory of *.yaml/*.yml/*.json, or - for standard input. Repeatable.")
  List<String> files;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int valid = 0;
    int invalid = 0;
    int skipped = 0;
    for (String f : files) {
      List<ManifestSources.Source> sources;
      try {
        sources = ManifestSources.read(f, System.in);
      } catch (UncheckedIOException e) {
        err.println("error: " + e.getCause().getMessage());
        return Dsctl.EXIT_USAGE;
      }
      for (ManifestSources.Source source : sources) {
        for (ParsedDocument doc : ManifestParser.parse(source.text(), source.name())) {
          if (doc.skipped()) {
            skipped++;
            out.println(doc.label() + ": " + doc.skipNote());
            continue;
          }
          if (doc.valid()) {
            valid++;
            out.println(doc.label() + ": OK" + (doc.warnings().isEmpty() ? "" : " (" + doc.warnings().size() + (doc.warnings().size() == 1 ? " warning)" : " warnings)")));
          } else {
            invalid++;
            out.println(doc.label() + ": INVALID");
          }
          for (String w : doc.warnings()) {
            out.println("  warning: " + w);
          }
          for (Problem p : doc.errors()) {
            out.println("  error: " + p);
          }
        }
      }
    }
    out.printf("%d valid, %d invalid, %d skipped%n", valid, invalid, skipped);
    return invalid == 0 ? 0 : Dsctl.EXIT_REFUSED;
  }
}
