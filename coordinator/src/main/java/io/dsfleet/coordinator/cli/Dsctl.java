package io.dsfleet.coordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** dsctl: the fleet from an operator's terminal, in kubectl's habits. */
@Command(name = "dsctl", mixinStandardHelpOptions = true, versionProvider = Dsctl.Version.class,
    description = "Manage dsfleet DaemonSets, nodes and rollouts.",
    subcommands = {ApplyCommand.class, GetCommand.class, DescribeCommand.class, DeleteCommand.class, LabelCommand.class,
        TaintCommand.class, CordonCommand.Cordon.class, CordonCommand.Uncordon.class, NodeCommand.class, RolloutCommand.class,
        LogsCommand.class, TokenCommand.class, CredentialCommand.class, ReplicaCommand.class, ValidateCommand.class, VersionCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Dsctl {
  /** A request the coordinator (or the validator) refused. */
  public static final int EXIT_REFUSED = 1;
  /** Bad usage or unreadable input. */
  public static final int EXIT_USAGE = 2;
  /** For ages in tables; tests may replace it. */
  static java.time.Clock clock = java.time.Clock.systemUTC();

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    CommandLine cl = new CommandLine(new Dsctl());
    return cl.execute(args);
  }

  /** The version from the jar manifest. */
  public static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Dsctl.class.getPackage().getImplementationVersion();
      return new String[] {"dsctl " + (v == null ? "dev" : v)};
    }
  }
}
