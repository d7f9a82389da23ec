package io.dsfleet.coordinator.http;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** What the JDK's HTTP server (com.sun.net.httpserver) logs at INFO and above while it is open. */
public final class JdkServerLog implements AutoCloseable {
  private final Logger jdk = Logger.getLogger("com.sun.net.httpserver");
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Handler catcher = new Handler() {
    @Override
    public void publish(LogRecord r) {
      if (r.getLevel().intValue() >= Level.INFO.intValue()) {
        lines.add(r.getMessage());
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };

  public JdkServerLog() {
    jdk.addHandler(catcher);
  }

  /** The messages logged since this was opened. */
  public List<String> lines() {
    return lines;
  }

  @Override
  public void close() {
    jdk.removeHandler(catcher);
  }
}
