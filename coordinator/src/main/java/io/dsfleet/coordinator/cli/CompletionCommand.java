package io.dsfleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** `dsctl completion`: a bash/zsh completion script; `source <(dsctl completion)`. */
@Command(name = "completion", description = "Print a bash/zsh completion script: source <(dsctl completion)")
public final class CompletionCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(AutoComplete.bash("dsctl", spec.root().commandLine()));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
