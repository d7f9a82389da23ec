package io.dsfleet.common.testing;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A FIFO swapped in where a root command is about to open an entry, and a bound on that command. */
public final class Fifos {
  private Fifos() {}

  /** A FIFO renamed over {@code at} (made beside it, then moved in: the swap is one step). */
  public static void over(Path at) {
    try {
      Path fifo = at.resolveSibling(at.getFileName() + ".fifo");
      Processes.succeed("mkfifo", fifo.toString());
      Files.move(fifo, at, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * What {@code work} returns, within {@code bound}; work still running then fails the test, once
   * released: a writer holds {@code fifo} open while it ends, so each of its opens of the FIFO
   * returns (the JDK's directory stream, its open under way, would hold the test's close too).
   */
  public static <T> T endsWithin(Duration bound, Path fifo, Callable<T> work) throws Exception {
    var one = Executors.newSingleThreadExecutor(DaemonThreadsForTests.FACTORY);
    try {
      var result = one.submit(work);
      try {
        return result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException held) {
        try (FileChannel writer = FileChannel.open(fifo, StandardOpenOption.WRITE)) {
          result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException ended) {
          // the failure below says what matters
        }
        throw new AssertionError("still waiting after " + bound + ", on the FIFO at " + fifo);
      }
    } finally {
      one.shutdownNow();
    }
  }

  private static final class DaemonThreadsForTests {
    static final java.util.concurrent.ThreadFactory FACTORY = r -> {
      Thread t = new Thread(r, "fifo-bound");
      t.setDaemon(true);
      return t;
    };
  }
}
