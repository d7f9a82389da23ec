package io.dsfleet.coordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** dsctl: the fleet from an operator's terminal, in kubectl's habits. */
@Command(name = "dsctl", mixinStandardHelpOptions = true, versionProvider = Dsctl.Version.class,
    description = "Manage dsfleet DaemonSets, nodes and rollouts.",
    footer = {"", "Connecting: dsctl talks to --coordinator HOST:PORT (or DSCTL_COORDINATOR, or `coordinator:` in"
        + " ~/.config/dsfleet/dsctl.yaml; default 127.0.0.1:7443) with --credentials FILE (or DSCTL_CREDENTIALS, or `credentials:`"
        + " there, or ~/.config/dsfleet/credentials.pem; on the coordinator's host, root uses its admin.pem). The coordinator writes"
        + " admin.pem and viewer.pem into its data directory's pki/ at its first start; another credential: dsctl credential create.",
        "", "Global flags (--coordinator, --credentials, --insecure, -n, -o, -v) go before or after the verb."},
    subcommands = {ApplyCommand.class, DiffCommand.class, DashboardCommand.class, KubeconfigCommand.class, GetCommand.class, DescribeCommand.class, EventsCommand.class, DeleteCommand.class, LabelCommand.class,
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
    CommandLine cl = commandLine();
    return cl.execute(globalFlagsAfterVerb(cl, args));
  }

  /**
   * dsctl's command line, every verb and sub-verb taking {@code -h}/{@code --help} as kubectl's do
   * ({@code dsctl get --help}, {@code dsctl rollout status --help}): picocli gives the root alone
   * one, and before, a verb's {@code --help} failed as an unknown option or a missing argument.
   */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Dsctl());
    addHelp(cl);
    return cl;
  }

  private static void addHelp(CommandLine cl) {
    for (CommandLine sub : cl.getSubcommands().values()) {
      var spec = sub.getCommandSpec();
      if (spec.findOption("--help") == null) {
        String[] names = spec.findOption("-h") == null ? new String[] {"-h", "--help"} : new String[] {"--help"};
        spec.addOption(CommandLine.Model.OptionSpec.builder(names).usageHelp(true).description("Show this help and exit.").build());
      }
      addHelp(sub);
    }
  }

  /** Flags every client verb takes, with a value; kubectl takes them before the verb too. */
  static final java.util.Set<String> GLOBAL_WITH_VALUE = java.util.Set.of("--coordinator", "--credentials", "--request-timeout",
      "-n", "--namespace", "-o", "--output");
  static final java.util.Set<String> GLOBAL_SWITCHES = java.util.Set.of("--insecure", "-v", "--verbose");

  /**
   * kubectl's habit: `dsctl --coordinator X -n ops get ds` as well as `dsctl get ds --coordinator X
   * -n ops`. The global flags given before the verb are moved after it (and its sub-verb: `rollout
   * status`, `node rm`), where the verb's own options take them; a verb without such an option says
   * so as it would after it.
   */
  static String[] globalFlagsAfterVerb(CommandLine root, String[] args) {
    java.util.List<String> moved = new java.util.ArrayList<>();
    int i = 0;
    while (i < args.length) {
      String a = args[i];
      String flag = a.startsWith("-") && a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
      if (GLOBAL_WITH_VALUE.contains(flag)) {
        moved.add(a);
        if (flag.equals(a) && i + 1 < args.length) {
          moved.add(args[++i]);
        }
      } else if (GLOBAL_SWITCHES.contains(a)) {
        moved.add(a);
      } else {
        break;
      }
      i++;
    }
    if (moved.isEmpty() || i == args.length) {
      return args; // nothing before the verb, or no verb at all: picocli says what is wrong
    }
    CommandLine command = root;
    int verbs = i;
    while (verbs < args.length && command.getSubcommands().containsKey(args[verbs])) {
      command = command.getSubcommands().get(args[verbs]);
      verbs++;
    }
    java.util.List<String> out = new java.util.ArrayList<>(java.util.Arrays.asList(args).subList(i, verbs));
    out.addAll(moved);
    out.addAll(java.util.Arrays.asList(args).subList(verbs, args.length));
    return out.toArray(String[]::new);
  }

  /** The version from the jar manifest. */
  public static final class Version implements CommandLine.IVersionProvider {
    /** The build's version and commit: the jar's ("0.1.0-SNAPSHOT+1a2b3c4d5e6f"), or "dev" from classes outside one. */
    public static String number() {
      return io.dsfleet.common.BuildIdentity.of(Dsctl.class).full();
    }

    /** What --version prints: the command's own name (dsctl, or ds-coordinator, whose --version this is too) and the version. */
    @Override
    public String[] getVersion() {
      return new String[] {"${COMMAND-FULL-NAME} " + number()};
    }
  }
}
