package io.dsfleet.common.manifest;

import java.util.regex.Pattern;

/** Kubernetes name and label rules (apimachinery validation), each returning an error or null. */
public final class Names {
  private static final Pattern QUALIFIED_NAME = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  private static final Pattern IANA_SVC_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
  private static final Pattern CONFIG_KEY = Pattern.compile("[-._a-zA-Z0-9]+");

  private Names() {}

  /**
   * Whether the value is an RFC 1123 label ({@code [a-z0-9]([-a-z0-9]*[a-z0-9])?}) or, with {@code
   * dots}, a subdomain of such labels joined by '.': lowercase letters, digits and '-' (and '.'),
   * an alphanumeric at both ends and on both sides of every '.'. A loop over the characters, not a
   * regular expression: the coordinator checks every name of every pod of every report with it,
   * where the expression's matcher was a fifth of a report's cost (docs/benchmarks.md, "Placement
   * verdicts kept"); NamesTest holds it to the expression.
   */
  static boolean isDns1123(String value, boolean dots) {
    int n = value.length();
    if (n == 0) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
        continue;
      }
      boolean inner = i > 0 && i < n - 1;
      if (c == '-' && inner) {
        continue;
      }
      if (c == '.' && dots && inner && alnum(value.charAt(i - 1)) && alnum(value.charAt(i + 1))) {
        continue;
      }
      return false;
    }
    return true;
  }

  private static boolean alnum(char c) {
    return c >= 'a' && c <= 'z' || c >= '0' && c <= '9';
  }

  public static String dns1123Label(String value) {
    if (value.length() > 63) {
      return "must be no more than 63 characters";
    }
    if (!isDns1123(value, false)) {
      return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
          + "and must start and end with an alphanumeric character"
          + (value.contains("${") ? " (an unexpanded ${...} placeholder?)" : "");
    }
    return null;
  }

  public static String dns1123Subdomain(String value) {
    if (value.length() > 253) {
      return "must be no more than 253 characters";
    }
    if (!isDns1123(value, true)) {
      return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
          + "or '.', and must start and end with an alphanumeric character"
          + (value.contains("${") ? " (an unexpanded ${...} placeholder?)" : "");
    }
    return null;
  }

  /** A label or annotation key: an optional DNS subdomain prefix and '/', then a name. */
  public static String qualifiedName(String value) {
    String name = value;
    int slash = value.indexOf('/');
    if (slash >= 0) {
      String prefix = value.substring(0, slash);
      name = value.substring(slash + 1);
      if (prefix.isEmpty()) {
        return "prefix part must be non-empty";
      }
      String p = dns1123Subdomain(prefix);
      if (p != null) {
        return "prefix part " + p;
      }
    }
    if (name.isEmpty()) {
      return "name part must be non-empty";
    }
    if (name.length() > 63) {
      return "name part must be no more than 63 characters";
    }
    if (!QUALIFIED_NAME.matcher(name).matches()) {
      return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
          + "end with an alphanumeric character";
    }
    return null;
  }

  public static String labelValue(String value) {
    if (value.length() > 63) {
      return "must be no more than 63 characters";
    }
    if (!LABEL_VALUE.matcher(value).matches()) {
      return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
          + "or '.', and must start and end with an alphanumeric character";
    }
    return null;
  }

  /** What is wrong with a label (its key first, then its value); null when it is a valid label. */
  public static String label(String key, String value) {
    String bad = qualifiedName(key);
    return bad != null ? bad : labelValue(value);
  }

  public static String portName(String value) {
    if (value.length() > 15) {
      return "must be no more than 15 characters";
    }
    if (!IANA_SVC_NAME.matcher(value).matches()) {
      return "must contain only lowercase alphanumeric characters or '-', and start and end with one";
    }
    if (value.contains("--")) {
      return "must not contain consecutive hyphens";
    }
    if (value.chars().noneMatch(Character::isLetter)) {
      return "must contain at least one letter";
    }
    return null;
  }

  public static String configKey(String value) {
    if (value.length() > 253) {
      return "must be no more than 253 characters";
    }
    if (value.equals(".") || value.equals("..")) {
      return "must not be '.' or '..'";
    }
    if (value.startsWith("..")) { // a volume's own ..data and timestamped directories are named so
      return "must not start with '..'";
    }
    if (!CONFIG_KEY.matcher(value).matches()) {
      return "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
    }
    return null;
  }

  private static final Pattern HTTP_TOKEN = Pattern.compile("[-!#$%&'*+.^_`|~0-9A-Za-z]+");

  /** An HTTP header name: RFC 7230's token, as Kubernetes validates a probe's httpHeaders. */
  public static String httpHeaderName(String value) {
    return HTTP_TOKEN.matcher(value).matches() ? null
        : "a valid HTTP header must consist of alphanumeric characters, '-' and the characters !#$%&'*+.^_`|~";
  }

  /** An HTTP header value: one line (the kubelet's HTTP client refuses a value that breaks it; here the coordinator does). */
  public static String httpHeaderValue(String value) {
    return value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0) ? "must not contain a line break or NUL" : null;
  }

  public static String envVarName(String value) {
    if (value.isEmpty()) {
      return "must not be empty";
    }
    for (char c : value.toCharArray()) {
      if (c < 32 || c > 126 || c == '=') {
        return "must consist of printable ASCII characters other than '='";
      }
    }
    return null;
  }
}
