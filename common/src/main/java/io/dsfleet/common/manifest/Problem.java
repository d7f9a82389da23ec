package io.dsfleet.common.manifest;

/** One validation error, Kubernetes style: {@code path: message}. */
public record Problem(String path, String message) {
  public static Problem required(String path) {
    return new Problem(path, "Required value");
  }

  public static Problem required(String path, String detail) {
    return new Problem(path, "Required value: " + detail);
  }

  public static Problem invalid(String path, Object value, String detail) {
    return new Problem(path, "Invalid value: " + quote(value) + ": " + detail);
  }

  public static Problem unsupportedValue(String path, Object value, java.util.Collection<String> allowed) {
    StringBuilder b = new StringBuilder("Unsupported value: ").append(quote(value)).append(": supported values: ");
    boolean first = true;
    for (String a : allowed) {
      b.append(first ? "" : ", ").append('"').append(a).append('"');
      first = false;
    }
    return new Problem(path, b.toString());
  }

  /** Kubernetes' field.TooMany, with why the limit exists. */
  public static Problem tooMany(String path, int actual, int max, String why) {
    return new Problem(path, "Too many: " + actual + ": must have at most " + max + " items (" + why + ")");
  }

  public static Problem duplicate(String path, Object value) {
    return new Problem(path, "Duplicate value: " + quote(value));
  }

  public static Problem notFound(String path, Object value) {
    return new Problem(path, "Not found: " + quote(value));
  }

  public static Problem forbidden(String path, String detail) {
    return new Problem(path, "Forbidden: " + detail);
  }

  public static Problem notSupported(String path, String detail) {
    return new Problem(path, detail == null ? "not supported" : "not supported: " + detail);
  }

  static String quote(Object value) {
    return value instanceof String s ? '"' + s + '"' : String.valueOf(value);
  }

  @Override
  public String toString() {
    return path + ": " + message;
  }
}
