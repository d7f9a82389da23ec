package io.dsfleet.coordinator.kubeapi;

import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.LogRelay;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** `kubectl logs`: a pod's log read whole through its agent, as text, or followed ({@link KubeLogFollow}). */
final class KubeLogs {
  private KubeLogs() {}

  /**
   * kubectl logs POD [-c C] [--tail N] [-p] [-f]: the pod's log from its agent, read whole, as
   * text, or followed under {@code credential} (a slot of {@code streams}; ended when
   * {@code onRevoke} tells).
   */
  static void answer(HttpExchange x, Fleet f, LogRelay logs, String namespace, String pod, KubeWatch streams, String credential,
      java.util.function.Function<Runnable, Runnable> onRevoke) throws IOException, InterruptedException {
    var found = io.dsfleet.coordinator.grpc.PodViews.of(f, namespace, pod, null);
    if (found.isEmpty()) {
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + pod + "\" not found");
    }
    var v = found.get(0);
    for (String unserved : List.of("sinceSeconds", "sinceTime", "timestamps")) {
      // refused, not ignored: before 2026-12-06 `kubectl logs --since 1h` printed the whole log as if it were the last hour's
      if (KubeApi.param(x, unserved) != null && !(unserved.equals("timestamps") && KubeApi.param(x, unserved).equals("false"))) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, unserved + " is not served by the dsfleet coordinator:"
            + " a pod's log is read whole or by its last lines (--tail)");
      }
    }
    int tail = (int) count(x, "tailLines", 0, Integer.MAX_VALUE);
    // tailLines=0 is none of the lines before now, as Kubernetes reads it (`kubectl logs -f --tail=0`: only what comes),
    // a negative tail of the relay's; before 2026-12-06 it was taken for no tail, and the whole log came back
    boolean noneBefore = tail == 0 && KubeApi.param(x, "tailLines") != null;
    long limit = count(x, "limitBytes", 1, Long.MAX_VALUE);
    boolean follow = "true".equals(KubeApi.param(x, "follow"));
    if (follow && x.getRequestMethod().equals("HEAD")) {
      throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "a followed log is a GET");
    }
    var req = io.dsfleet.proto.v1.LogsRequest.newBuilder().setNamespace(namespace)
        .setDaemonSet(v.getStatus().getDaemonSet()).setNodeName(v.getNodeName()).setContainer(java.util.Objects.requireNonNullElse(
            KubeApi.param(x, "container"), "")).setTailLines(noneBefore ? -1 : tail)
        .setPrevious("true".equals(KubeApi.param(x, "previous"))).build();
    if (follow) {
      KubeLogFollow.serve(x, f, logs, req, streams, credential, onRevoke, limit);
      return;
    }
    List<String> lines = logs.read(f, req, java.time.Duration.ofSeconds(10));
    x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    x.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = x.getRequestMethod().equals("HEAD"); // no body, no length: the JDK's server logs a warning for each HEAD with one
    x.sendResponseHeaders(200, lines.isEmpty() || head ? -1 : 0);
    if (!head && !lines.isEmpty()) {
      // line by line, chunked: the read's lines joined and encoded whole cost ten times their size
      // (4 MiB of characters Docker could not decode: 85 MiB allocated, about 40 MiB at once)
      Limited body = new Limited(x.getResponseBody(), limit == 0 ? Long.MAX_VALUE : limit);
      var out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(body, StandardCharsets.UTF_8));
      for (int i = 0; i < lines.size() && body.left > 0; i++) {
        out.write(lines.get(i));
        out.write('\n');
      }
      out.flush();
    }
  }

  /** A response body that takes at most {@code left} bytes and drops the rest (limitBytes: the last line cut, as Kubernetes). */
  static final class Limited extends java.io.FilterOutputStream {
    long left;

    Limited(java.io.OutputStream out, long left) {
      super(out);
      this.left = left;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      int n = (int) Math.min(len, left);
      out.write(b, off, n);
      left -= n;
    }
  }

  /** A count parameter: 0 when absent, else a number from {@code min} to {@code max}, refused naming it otherwise. */
  private static long count(HttpExchange x, String name, long min, long max) {
    String text = KubeApi.param(x, name);
    if (text == null) {
      return 0;
    }
    try {
      long n = Long.parseLong(text);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, name + " must be a number from " + min + " to " + max + ", got \"" + text + "\"");
  }

}
