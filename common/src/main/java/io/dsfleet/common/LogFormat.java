package io.dsfleet.common;

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
}
