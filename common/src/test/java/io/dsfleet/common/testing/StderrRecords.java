package io.dsfleet.common.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * What a record with a line break in its text looks like on stderr once {@code start} ran (a
 * daemon reading its command line): the text printed as slf4j-simple prints a record, read back.
 * stderr is as it was afterwards.
 */
public final class StderrRecords {
  private StderrRecords() {}

  public static String printedAfter(Runnable start, String record) {
    PrintStream before = System.err;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      System.setErr(new PrintStream(bytes, true, Charset.defaultCharset()));
      start.run();
      System.err.println(record);
    } finally {
      System.setErr(before);
    }
    return bytes.toString(Charset.defaultCharset());
  }
}
