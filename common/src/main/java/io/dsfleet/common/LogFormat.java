package io.dsfleet.common;

import java.io.PrintStream;
import java.nio.charset.Charset;
import java.util.regex.Pattern;

/**
 * The daemons' log lines (slf4j-simple on stderr): under systemd the journal stamps each line, so
 * they carry none; anywhere else (a terminal, nohup, a container) they start with the date and time,
 * or nobody can tell when anything happened. JVM flags (-Dorg.slf4j.simpleLogger.showDateTime=...)
 * win over this.
 */
public final class LogFormat {
  private LogFormat() {}

  static final String SHOW = "org.slf4j.simpleLogger.showDateTime";
  static final String FORMAT = "org.slf4j.simpleLogger.dateTimeFormat";

  /** Call before the first logger is made; systemd sets JOURNAL_STREAM for a service whose stderr is the journal. */
  public static void timestampsOutsideTheJournal() {
    if (System.getenv("JOURNAL_STREAM") == null && System.getProperty(SHOW) == null) {
      System.setProperty(SHOW, "true");
      if (System.getProperty(FORMAT) == null) {
        System.setProperty(FORMAT, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
      }
    }
  }

  /**
   * From now on each print to stderr stays on its line: a control character in it (a line break
   * in a pull's error as the registry worded it, in a text a node or a client sent) is written as
   * '?', so no text a daemon logs can forge a line of the journal's. A stack trace keeps its
   * lines (each frame is printed apart) and their tabs. Call once the command line is read: help
   * and usage are many lines.
   */
  public static void oneLinePerRecord() {
    if (!(System.err instanceof OneLine)) {
      System.setErr(new OneLine(System.err));
    }
  }

  /** {@code text} on one line: its control characters but the tab written as '?'. */
  public static String oneLine(String text) {
    return CONTROL.matcher(text).replaceAll("?");
  }

  /** Control characters but the tab. */
  private static final Pattern CONTROL = Pattern.compile("[\\p{Cntrl}&&[^\t]]");

  /** A print stream whose every print of text writes its control characters (the tab aside) as '?'; its line ends its own. */
  static final class OneLine extends PrintStream {
    OneLine(PrintStream to) {
      super(to, true, Charset.defaultCharset());
    }

    @Override
    public void print(String s) { // a subclass's println(String) and println(Object) print through here (PrintStream's own write directly)
      super.print(s == null ? null : oneLine(s));
    }
  }
}
