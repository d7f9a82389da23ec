package io.dsfleet.agent.pod;

import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.EnvFromSource;
import io.dsfleet.common.model.EnvVar;
import io.dsfleet.common.model.KeySelector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A container's environment as the kubelet builds it: envFrom first, then env (later wins);
 * {@code $(VAR)} in values, command and args expands to a variable defined before it, and
 * {@code $$(VAR)} is a literal {@code $(VAR)}.
 */
public final class Env {
  /** {@code $$}, or {@code $(} up to the next {@code )}: the kubelet's expansion reads any name (env names may be any printable ASCII but '='). */
  private static final Pattern REF = Pattern.compile("\\$\\$|\\$\\(([^)]*)\\)");

  /**
   * The most characters a container's environment (names and values) may hold once built and its
   * {@code $(VAR)} references expanded. Each variable may refer to the ones before it, so a
   * template's value doubles with each ({@code B=$(A)$(A)}, {@code C=$(B)$(B)} ...): forty such
   * lines asked for terabytes, and before 2026-12-05 the agent built them in its 48 MiB heap until it
   * ran out of memory and exited, at every start, on every node the DaemonSet reached (helper-88).
   * Linux itself refuses to start a process with more than about 2 MiB of arguments and environment.
   */
  public static final int MAX_ENV_CHARS = 256 * 1024;
  /** The most characters a container's command and args may hold once expanded (every list of the node's containers carries them). */
  public static final int MAX_COMMAND_CHARS = 64 * 1024;

  private Env() {}

  /** What an expansion may still produce; past it the container is not made (CreateContainerConfigError), and the expansion stops there. */
  public static final class Budget {
    private final String what;
    private final long max;
    private long left;

    /** @param what what is being built, for the error ("the environment of container main") */
    public Budget(String what, long max) {
      this.what = what;
      this.max = max;
      this.left = max;
    }

    /** Refuses {@code chars} more than the budget has left, taking nothing. */
    void check(long chars) {
      if (chars > left) {
        throw new PodConfigError("CreateContainerConfigError", what + " is over " + max / 1024 + " KiB once its $(VAR) references are"
            + " expanded; the agent builds at most that (a value that refers to an earlier one twice doubles with each line)");
      }
    }

    void take(long chars) {
      check(chars);
      left -= chars;
    }

    void giveBack(long chars) {
      left += chars;
    }
  }

  public static Map<String, String> build(PodContext ctx, Container c, String podIp) {
    Budget budget = new Budget("the environment of container " + c.name(), MAX_ENV_CHARS);
    Map<String, String> env = new LinkedHashMap<>() {
      @Override
      public String put(String name, String value) {
        // a replaced variable (env over envFrom, a later envFrom over an earlier one) gives its place back first
        String before = get(name);
        if (before != null) {
          budget.giveBack(name.length() + before.length());
        }
        try {
          budget.take(name.length() + value.length());
        } catch (PodConfigError e) {
          if (before != null) {
            budget.take(name.length() + before.length());
          }
          throw e;
        }
        return super.put(name, value);
      }
    };
    for (EnvFromSource from : list(c.envFrom())) {
      boolean secret = from.secretRef() != null;
      var ref = secret ? from.secretRef() : from.configMapRef();
      Map<String, byte[]> data = (secret ? ctx.secrets() : ctx.configMaps()).get(ref.name());
      if (data == null) {
        if (Boolean.TRUE.equals(ref.optional())) {
          continue;
        }
        throw new PodConfigError("CreateContainerConfigError", (secret ? "secret" : "configmap") + " \"" + ref.name() + "\" not found");
      }
      String prefix = from.prefix() == null ? "" : from.prefix();
      data.forEach((k, v) -> env.put(prefix + k, new String(v, StandardCharsets.UTF_8)));
    }
    for (EnvVar e : list(c.env())) {
      String value;
      if (e.valueFrom() == null) {
        // a value replacing a variable (env over envFrom) may use that variable's place: it is given back when the value is kept
        String replaced = env.get(e.name());
        value = expand(e.value() == null ? "" : e.value(), env, budget, replaced == null ? 0 : e.name().length() + replaced.length());
      } else if (e.valueFrom().fieldRef() != null) {
        value = fieldValue(ctx, e.valueFrom().fieldRef().fieldPath(), podIp);
      } else if (e.valueFrom().configMapKeyRef() != null) {
        value = key(ctx.configMaps(), "configmap", e.valueFrom().configMapKeyRef());
      } else {
        value = key(ctx.secrets(), "secret", e.valueFrom().secretKeyRef());
      }
      if (value != null) {
        env.put(e.name(), value);
      }
    }
    return env;
  }

  private static String key(Map<String, Map<String, byte[]>> all, String kind, KeySelector ref) {
    Map<String, byte[]> data = all.get(ref.name());
    byte[] v = data == null ? null : data.get(ref.key());
    if (v == null) {
      if (Boolean.TRUE.equals(ref.optional())) {
        return null;
      }
      throw new PodConfigError("CreateContainerConfigError", data == null
          ? kind + " \"" + ref.name() + "\" not found"
          : "couldn't find key " + ref.key() + " in " + kind + " " + ref.name());
    }
    return new String(v, StandardCharsets.UTF_8);
  }

  /** The value of a downward API field of this pod. */
  static String fieldValue(PodContext ctx, String path, String podIp) {
    Matcher m = Pattern.compile("metadata\\.(labels|annotations)\\['([^']+)'\\]").matcher(path);
    if (m.matches()) {
      Map<String, String> map = m.group(1).equals("labels") ? ctx.template().metadata().labels() : ctx.template().metadata().annotations();
      return map == null ? "" : map.getOrDefault(m.group(2), "");
    }
    return switch (path) {
      case "metadata.name" -> ctx.podName();
      case "metadata.namespace" -> ctx.namespace();
      case "spec.nodeName" -> ctx.node();
      case "status.hostIP" -> ctx.hostIp();
      case "status.podIP" -> podIp == null ? "" : podIp;
      case "metadata.labels" -> format(ctx.template().metadata().labels());
      case "metadata.annotations" -> format(ctx.template().metadata().annotations());
      default -> throw new PodConfigError("CreateContainerConfigError", "unsupported fieldPath " + path);
    };
  }

  /** As the kubelet's FormatMap: {@code key="value"} lines in key order, each value quoted as Go's %q, no newline after the last. */
  static String format(Map<String, String> map) {
    StringBuilder b = new StringBuilder();
    if (map != null) {
      new java.util.TreeMap<>(map).forEach((k, v) -> b.append(b.length() == 0 ? "" : "\n").append(k).append('=').append(goQuoted(v)));
    }
    return b.toString();
  }

  /** Go's strconv.Quote: backslash escapes for quotes, backslashes and control characters; printable text as it is. */
  static String goQuoted(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().forEach(c -> {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case 7 -> b.append("\\a");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case 11 -> b.append("\\v");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            b.append(String.format("\\x%02x", c));
          } else if (Character.isISOControl(c) || !Character.isDefined(c) || Character.getType(c) == Character.FORMAT
              || Character.getType(c) == Character.SURROGATE || Character.getType(c) == Character.PRIVATE_USE
              || (Character.isSpaceChar(c) && c != ' ')) { // Go prints only the ASCII space of the spaces
            b.append(c < 0x10000 ? String.format("\\u%04x", c) : String.format("\\U%08x", c));
          } else {
            b.appendCodePoint(c);
          }
        }
      }
    });
    return b.append('"').toString();
  }

  /**
   * {@code text} with its references expanded, as the kubelet expands them, within {@code budget}:
   * the expansion stops as soon as it would produce more than the budget has left (what it
   * produced is not taken from the budget: the caller's map or list does that when it keeps it).
   */
  public static String expand(String text, Map<String, String> env, Budget budget) {
    return expand(text, env, budget, 0);
  }

  /** As {@link #expand(String, Map, Budget)}, with {@code slack} more than the budget has left (what a replaced variable gives back). */
  private static String expand(String text, Map<String, String> env, Budget budget, long slack) {
    Matcher m = REF.matcher(text);
    StringBuilder out = new StringBuilder();
    int from = 0;
    while (m.find()) {
      String replacement;
      if (m.group().equals("$$")) {
        replacement = "$";
      } else {
        String v = env.get(m.group(1));
        replacement = v == null ? m.group() : v;
      }
      budget.check(out.length() + (m.start() - from) + replacement.length() - slack);
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
      from = m.end();
    }
    m.appendTail(out);
    budget.check(out.length() - slack);
    return out.toString();
  }

  /** Each of {@code args} expanded ({@link #expand(String, Map, Budget)}), all of them taken from {@code budget}. */
  public static List<String> expand(List<String> args, Map<String, String> env, Budget budget) {
    if (args == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String a : args) {
      String x = expand(a, env, budget);
      budget.take(x.length());
      out.add(x);
    }
    return out;
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
