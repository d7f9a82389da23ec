package io.dsfleet.agent;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/**
 * ds-agent's command line: `run` and `leave`, their options, help and version, parsed here. Not
 * with picocli (dsctl's and the coordinator's): its 170 classes stayed loaded for the agent's life
 * for one parse at start, 1 MiB of an idle agent's RSS (docs/agent.md, "Footprint"). The forms
 * picocli took are taken: `--name value`, `--name=value`, a flag alone or `--flag=true|false`,
 * a repeatable option repeated, `--` to end them; a single-valued option given twice, an unknown
 * one, an option's name where a value should be, or a stray argument is refused by name (exit 2,
 * nothing done). Not taken: picocli's `@file` argument files (the config file and the
 * DS_AGENT_* environment are the agent's other sources) and its clustered short options beyond
 * `-hV`.
 */
final class AgentCommandLine {
  private AgentCommandLine() {}

  /** Which commands take an option. */
  enum Scope { BOTH, RUN, LEAVE }

  /** An option; {@code param} null: a flag. */
  record Option(String name, String param, boolean repeatable, Scope scope, String description,
      BiConsumer<AgentMain.Common, String> set) {
    boolean takenBy(boolean leave) {
      return scope == Scope.BOTH || scope == (leave ? Scope.LEAVE : Scope.RUN);
    }
  }

  /** A command line that cannot be run; the message names what is wrong. */
  static final class Bad extends Exception {
    Bad(String message) {
      super(message);
    }
  }

  static final List<Option> OPTIONS = List.of(
      new Option("--config", "FILE", false, Scope.BOTH, "YAML config file, read when it exists (default " + AgentMain.DEFAULT_CONFIG + ").",
          (c, v) -> c.config = Path.of(v)),
      new Option("--coordinator", "HOST:PORT", true, Scope.BOTH, "Coordinator address; repeat for several (default 127.0.0.1:7443).",
          (c, v) -> c.coordinators = add(c.coordinators, v)),
      new Option("--node-name", "NAME", false, Scope.BOTH, "Node name (default: the hostname).", (c, v) -> c.nodeName = v),
      new Option("--state-dir", "DIR", false, Scope.BOTH, "State directory (default /var/lib/ds-agent).", (c, v) -> c.stateDir = Path.of(v)),
      new Option("--docker-host", "URI", false, Scope.BOTH, "Docker endpoint (default unix:///var/run/docker.sock).", (c, v) -> c.dockerHost = v),
      new Option("--label", "K=V", true, Scope.RUN, "Node label; repeatable.", (c, v) -> c.labels = add(c.labels, v)),
      new Option("--taint", "K=V:EFFECT", true, Scope.RUN, "Node taint; repeatable.", (c, v) -> c.taints = add(c.taints, v)),
      new Option("--address", "ADDRESS", false, Scope.RUN, "The node's address, reported as status.hostIP.", (c, v) -> c.address = v),
      new Option("--heartbeat-interval", "DURATION", false, Scope.RUN, "Override the coordinator's heartbeat interval.",
          (c, v) -> c.heartbeatInterval = v),
      new Option("--leave-on-shutdown", null, false, Scope.RUN, "Leave the fleet (removing every owned container) when stopped.",
          (c, v) -> c.leaveOnShutdown = Boolean.valueOf(v)),
      new Option("--join-token", "TOKEN", false, Scope.BOTH,
          "Join token (from ds-coordinator init or dsctl token create); needed until the node has its certificate.",
          (c, v) -> c.joinToken = v),
      new Option("--insecure", null, false, Scope.BOTH, "Plaintext gRPC without credentials (the coordinator must run --insecure too).",
          (c, v) -> c.insecure = Boolean.valueOf(v)),
      new Option("--restart-backoff", "DURATION", false, Scope.RUN, "Wait after a container's first failure, doubling (default 10s, as Kubernetes).",
          (c, v) -> c.restartBackoff = v),
      new Option("--restart-backoff-max", "DURATION", false, Scope.RUN, "Longest wait between restarts (default 5m, as Kubernetes).",
          (c, v) -> c.restartBackoffMax = v),
      new Option("--relist-interval", "DURATION", false, Scope.RUN,
          "How often every container is listed while Docker's event stream runs (default 30s).", (c, v) -> c.relistInterval = v),
      new Option("--pass-interval", "DURATION", false, Scope.RUN,
          "How often a reconcile pass runs when nothing wakes one sooner (100ms to 1s; default 1s).", (c, v) -> c.passInterval = v),
      new Option("--metrics-listen", "HOST:PORT|off", false, Scope.RUN,
          "Where Prometheus scrapes the agent's metrics, plain HTTP (default " + AgentMain.DEFAULT_METRICS + "; off: none).",
          (c, v) -> c.metricsListen = v),
      new Option("--pod-pids-limit", "N", false, Scope.RUN,
          "The most processes each container of a pod may run (Docker's --pids-limit; default -1: no bound, as Kubernetes).",
          (c, v) -> c.podPidsLimit = v),
      new Option("--timeout", "DURATION", false, Scope.LEAVE, "Stop every pod within this (default 60s); a pod's grace period is cut to it.",
          (c, v) -> c.leaveTimeout = v));

  static final String RUN = "Join the fleet and run this node's pods.";
  static final String LEAVE = "Leave the fleet: the coordinator removes this node, and every container the agent owns here is stopped (in"
      + " parallel, each within its grace period) and removed.";

  /** What a command line asks besides running: nothing, its help, or the version. */
  enum Ask { RUN, HELP, VERSION }

  /** Runs the command line; its exit code. */
  static int execute(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.print(usage());
      return 2;
    }
    try {
      switch (args[0]) {
        case "-h", "--help", "-hV", "-Vh":
          out.print(usage());
          return 0;
        case "-V", "--version":
          out.println("ds-agent " + AgentMain.VERSION);
          return 0;
        case "run": {
          AgentMain.Run run = new AgentMain.Run();
          Ask ask = parse(args, run.common, false);
          return ask == Ask.RUN ? call(run) : answer(ask, "run", out);
        }
        case "leave": {
          AgentMain.Leave leave = new AgentMain.Leave();
          Ask ask = parse(args, leave.common, true);
          return ask == Ask.RUN ? call(leave) : answer(ask, "leave", out);
        }
        default:
          throw new Bad("unknown command \"" + args[0] + "\" (run, leave, --help, --version)");
      }
    } catch (Bad e) {
      err.println("ds-agent: " + e.getMessage());
      err.println("see: ds-agent " + (args[0].equals("run") || args[0].equals("leave") ? args[0] + " " : "") + "--help");
      return 2;
    }
  }

  private static int answer(Ask ask, String command, PrintStream out) {
    out.print(ask == Ask.HELP ? usage(command) : "ds-agent " + AgentMain.VERSION + "\n");
    return 0;
  }

  private static int call(Callable<Integer> command) {
    try {
      return command.call();
    } catch (Exception e) {
      e.printStackTrace();
      return 1;
    }
  }

  /**
   * Sets {@code into} from {@code args} after the command word, taking only the options of `run`
   * or of `leave` ({@code leave}). A value is the next word
   * unless that is another option's name or help's or version's (as picocli: `--address
   * --leave-on-shutdown`, an empty `$ADDRESS` in a unit, is refused, not an address); after `--`
   * nothing more is taken.
   *
   * @return whether help or the version was asked for (anywhere an option may stand), else RUN
   * @throws Bad naming the word that is wrong
   */
  static Ask parse(String[] args, AgentMain.Common into, boolean leave) throws Bad {
    Set<String> given = new HashSet<>();
    Ask ask = Ask.RUN;
    for (int i = 1; i < args.length; i++) {
      String word = args[i];
      switch (word) {
        case "-h", "--help", "-hV", "-Vh":
          ask = Ask.HELP;
          continue;
        case "-V", "--version":
          ask = ask == Ask.HELP ? ask : Ask.VERSION;
          continue;
        case "--":
          if (i + 1 < args.length) {
            throw new Bad("unexpected argument \"" + args[i + 1] + "\": " + args[0] + " takes options only");
          }
          continue;
        default:
          break;
      }
      if (!word.startsWith("--")) {
        throw new Bad("unexpected argument \"" + word + "\": " + args[0] + " takes options only");
      }
      int eq = word.indexOf('=');
      String name = eq > 0 ? word.substring(0, eq) : word;
      String value = eq > 0 ? word.substring(eq + 1) : null;
      Option o = find(name, leave);
      if (o == null) {
        throw new Bad("unknown option " + name + (!leave || find(name, false) == null ? "" : ": leave does not take it"));
      }
      String param = o.param();
      if (param == null) {
        if (value == null) {
          value = "true";
        } else if (value.isEmpty()) {
          value = "false";
        } else if (!value.equals("true") && !value.equals("false")) {
          throw new Bad("option " + name + " is a flag: true or false, not \"" + value + "\"");
        }
      } else if (value == null) {
        if (i + 1 == args.length || isOption(args[i + 1], leave)) {
          throw new Bad("option " + name + " needs a value (" + param + ")");
        }
        value = args[++i];
      }
      if (!o.repeatable() && !given.add(name)) {
        throw new Bad("option " + name + " given twice");
      }
      o.set().accept(into, value);
    }
    return ask;
  }

  /** A word that names an option of the command (with or without its value), help, version or the end of options. */
  private static boolean isOption(String word, boolean leave) {
    String name = word.indexOf('=') > 0 ? word.substring(0, word.indexOf('=')) : word;
    return find(name, leave) != null || List.of("-h", "--help", "-V", "--version", "-hV", "-Vh", "--").contains(word);
  }

  private static Option find(String name, boolean leave) {
    for (Option o : OPTIONS) {
      if (o.name().equals(name) && o.takenBy(leave)) {
        return o;
      }
    }
    return null;
  }

  private static List<String> add(List<String> list, String value) {
    List<String> l = list == null ? new ArrayList<>() : list;
    l.add(value);
    return l;
  }

  static String usage() {
    return "Usage: ds-agent [-hV] COMMAND\nThe dsfleet node agent.\n"
        + row("-h, --help", "Show this help message and exit.") + row("-V, --version", "Print version information and exit.")
        + "Commands:\n" + row("run", RUN) + row("leave", LEAVE);
  }

  static String usage(String command) {
    boolean leave = command.equals("leave");
    StringBuilder b = new StringBuilder("Usage: ds-agent ").append(command).append(" [OPTIONS]\n").append(leave ? LEAVE : RUN).append('\n');
    for (Option o : OPTIONS) {
      if (o.takenBy(leave)) {
        b.append(row(o.name() + (o.param() == null ? "" : "=" + o.param()), o.description()));
      }
    }
    return b.append(row("-h, --help", "Show this help message and exit.")).append(row("-V, --version", "Print version information and exit."))
        .toString();
  }

  private static String row(String left, String right) {
    return String.format("  %-30s %s%n", left, right);
  }
}
