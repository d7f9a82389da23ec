package io.dsfleet.coordinator.dashboard;

import java.time.Duration;
import java.util.List;

/** Small pieces of HTML, every value escaped: the dashboard's pages are built from these and nothing else. */
final class Html {
  private Html() {}

  static String esc(Object value) {
    String s = String.valueOf(value);
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String entity = entity(c);
      if (entity == null) {
        b.append(c);
      } else {
        b.append(entity);
      }
    }
    return b.toString();
  }

  /** {@code s} escaped as {@link #esc}, written to {@code out} as it goes (a log page's lines: no copy of each). */
  static void esc(java.io.Writer out, String s) throws java.io.IOException {
    int from = 0;
    for (int i = 0; i < s.length(); i++) {
      String entity = entity(s.charAt(i));
      if (entity != null) {
        out.write(s, from, i - from);
        out.write(entity);
        from = i + 1;
      }
    }
    out.write(s, from, s.length() - from);
  }

  private static String entity(char c) {
    return switch (c) {
      case '<' -> "&lt;";
      case '>' -> "&gt;";
      case '&' -> "&amp;";
      case '"' -> "&quot;";
      case '\'' -> "&#39;";
      default -> null;
    };
  }

  /** A path segment, escaped for a URL. */
  static String seg(String value) {
    return java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** A table: headers, then rows whose cells are HTML already (escape what goes in). */
  static String table(List<String> headers, List<List<String>> rows) {
    StringBuilder b = new StringBuilder("<table><thead><tr>");
    headers.forEach(h -> b.append("<th>").append(esc(h)).append("</th>"));
    b.append("</tr></thead><tbody>");
    for (List<String> row : rows) {
      b.append("<tr>");
      row.forEach(c -> b.append("<td>").append(c).append("</td>"));
      b.append("</tr>");
    }
    if (rows.isEmpty()) {
      b.append("<tr><td colspan=\"").append(headers.size()).append("\">none</td></tr>");
    }
    return b.append("</tbody></table>").toString();
  }

  static String link(String href, String text) {
    return "<a href=\"" + esc(href) + "\">" + esc(text) + "</a>";
  }

  /** An age as kubectl prints it: 45s, 3m, 5h, 2d. */
  static String age(long sinceMillis, long nowMillis) {
    if (sinceMillis <= 0) {
      return "-";
    }
    Duration d = Duration.ofMillis(Math.max(0, nowMillis - sinceMillis));
    return d.toDays() > 0 ? d.toDays() + "d" : d.toHours() > 0 ? d.toHours() + "h" : d.toMinutes() > 0 ? d.toMinutes() + "m"
        : d.toSeconds() + "s";
  }

  /** A whole page: the navigation, the body, the fragment scripts; readable without JavaScript. */
  static String page(String title, String body, Logins.Login login) {
    return top(title, login) + body + BOTTOM;
  }

  /** A page's end, after its body. */
  static final String BOTTOM = "</main></body></html>";

  /** A page up to its body: for a body written in pieces (a log page's lines). */
  static String top(String title, Logins.Login login) {
    return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + "<title>" + esc(title) + " - dsfleet</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
        + "<script src=\"/static/live.js\" defer></script></head><body>"
        + "<nav><a href=\"/\"><b>dsfleet</b></a> <a href=\"/daemonsets\">DaemonSets</a> <a href=\"/nodes\">Nodes</a>"
        + " <a href=\"/events\">Events</a><span class=\"who\">" + (login == null ? "" : esc((login.admin() ? "admin " : "viewer ")
        + login.name())) + "</span>" + (login == null ? "" : Pages.button("/logout", "Log out", login.formToken()))
        + "</nav><main><h1>" + esc(title) + "</h1>";
  }
}
