package io.dsfleet.agent.session;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The lines the agent logs that contain a given text, from now until closed: a session's own
 * account of what it did (a try, a leave), where a count of what arrived within a window of time
 * would depend on how busy the machine is. slf4j-simple writes to the {@code System.err} of the
 * moment, so this passes everything on to the one it replaces and keeps the matching lines.
 */
public final class LoggedLines implements AutoCloseable {
  private final PrintStream replaced = System.err;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  public LoggedLines(String containing) {
    System.setErr(new PrintStream(new OutputStream() {
      private final StringBuilder line = new StringBuilder();

      @Override
      public synchronized void write(int b) {
        replaced.write(b);
        if (b != '\n') {
          line.append((char) b);
        } else {
          if (line.indexOf(containing) >= 0) {
            lines.add(line.toString());
          }
          line.setLength(0);
        }
      }
    }, true, StandardCharsets.UTF_8));
  }

  public List<String> lines() {
    return List.copyOf(lines);
  }

  public int count() {
    return lines.size();
  }

  @Override
  public void close() {
    System.setErr(replaced);
  }
}
