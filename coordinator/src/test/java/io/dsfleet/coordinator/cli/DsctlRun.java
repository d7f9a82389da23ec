package io.dsfleet.coordinator.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import picocli.CommandLine;

/** dsctl run in this JVM as its main would (the global flags anywhere), its exit code and what it printed. */
public final class DsctlRun {
  private DsctlRun() {}

  public record Result(int exit, String out, String err) {}

  public static Result run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Dsctl.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(Dsctl.globalFlagsAfterVerb(cl, args.toArray(String[]::new)));
    return new Result(exit, out.toString(), err.toString());
  }
}
