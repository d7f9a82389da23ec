package io.dsfleet.coordinator.kubeapi;

import java.io.IOException;
import java.io.OutputStream;
import java.util.function.Supplier;

/**
 * A stream of the Kubernetes API (a watch, a followed log: {@link KubeLogFollow}), each write and
 * flush given {@code bound} to reach its client, and never past the stream's end and a bound (the
 * exchange's deadline: ExchangeDeadlines), the stream's rest and a bound between writes. Before 2026-12-06 each write had its whole bound from when it began,
 * wherever the window was: a client that took each write within it, but slower than the window
 * needed for a large first state, kept the watch past its window, for as long as the list lasted
 * at its pace (the JDK's net cut it at 35 minutes).
 */
final class BoundedWrites extends java.io.FilterOutputStream {
  private final java.time.Duration bound;
  private final Supplier<java.time.Duration> rest;

  /** @param rest the watch's time left (negative past its end) */
  BoundedWrites(OutputStream out, java.time.Duration bound, Supplier<java.time.Duration> rest) {
    super(out);
    this.bound = bound;
    this.rest = rest;
    between();
  }

  /** The watch's end and a write's bound, from now (zero past it). */
  private java.time.Duration untilCut() {
    java.time.Duration d = rest.get().plus(bound);
    return d.isNegative() ? java.time.Duration.ZERO : d;
  }

  private void between() {
    io.dsfleet.common.ExchangeDeadlines.extend(untilCut());
  }

  private void during() {
    java.time.Duration cut = untilCut();
    io.dsfleet.common.ExchangeDeadlines.extend(cut.compareTo(bound) < 0 ? cut : bound);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    during();
    out.write(b, off, len);
    between();
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void flush() throws IOException {
    during();
    out.flush();
    between();
  }
}
