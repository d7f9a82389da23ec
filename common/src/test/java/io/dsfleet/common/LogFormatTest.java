package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A daemon's stderr once its command line is read: one line per record, whatever text a record carries. */
class LogFormatTest {
  @Test
  void aRecordStaysOnItsLineAndAStackTraceKeepsItsFrames() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream err = new LogFormat.OneLine(new PrintStream(bytes, true, Charset.defaultCharset()));
    // as slf4j-simple writes a record: one println of its text
    err.println("WARN pod ops/x-1: main did not start: stat /bin/x\nINFO io.dsfleet.agent.AgentMain - forged\r\u001b[2Jcleared");
    new IllegalStateException("exec: \"/bin/x\nERROR forged\"").printStackTrace(err);
    List<String> lines = bytes.toString(Charset.defaultCharset()).lines().toList();
    assertThat(lines.get(0)).isEqualTo("WARN pod ops/x-1: main did not start: stat /bin/x?INFO io.dsfleet.agent.AgentMain - forged??[2Jcleared");
    assertThat(lines.get(1)).isEqualTo("java.lang.IllegalStateException: exec: \"/bin/x?ERROR forged\"");
    assertThat(lines.get(2)).as("a frame, its tab kept").startsWith("\tat io.dsfleet.common.LogFormatTest.");
    assertThat(lines).as("no line begins with a forged level").noneMatch(l -> l.startsWith("INFO") || l.startsWith("ERROR"));
  }

  @Test
  void installedOnceOnStderr() {
    PrintStream before = System.err;
    try {
      LogFormat.oneLinePerRecord();
      PrintStream installed = System.err;
      assertThat(installed).isInstanceOf(LogFormat.OneLine.class);
      LogFormat.oneLinePerRecord();
      assertThat(System.err).as("not wrapped twice").isSameAs(installed);
    } finally {
      System.setErr(before);
    }
  }
}
