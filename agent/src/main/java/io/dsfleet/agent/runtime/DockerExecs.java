package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import io.dsfleet.agent.runtime.ContainerRuntime.ExecResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A command run in a container (an exec probe's, a hook's) through Docker's exec, bounded by its
 * timeout, and ended when it outlives it ({@link TimedOutExecs}): {@link DockerRuntime#exec}'s
 * work, apart from its other calls.
 */
final class DockerExecs {
  // its lines under DockerRuntime's name, as before they moved here
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DockerRuntime.class);

  /**
   * The most of an exec's output kept: its first bytes, as the kubelet keeps a probe's first 10 KiB. Before 2026-12-07 the
   * frame that crossed 10,000 characters was kept whole (up to 32 KiB from dockerd: a postStart hook's status message of
   * 42,000 characters, 126 KB in UTF-8 when no byte was UTF-8), each frame decoded alone.
   */
  static final int MAX_OUTPUT = 10_000;

  private final DockerClient docker;
  private final DockerClient quick;

  /** @param quick the same daemon on the passes' client (its calls wait 2 minutes at most) */
  DockerExecs(DockerClient docker, DockerClient quick) {
    this.docker = docker;
    this.quick = quick;
  }

  /** Runs {@code command} in container {@code id}: its exit code and first output, or -1 once {@code timeout} passed. */
  ExecResult run(String id, List<String> command, Duration timeout) {
    // its create and inspect on the passes' client (2 minutes: the kubelet's runtime requests' wait): a daemon stuck on
    // the container held an exec probe 10 minutes before (its stream is bounded by the timeout below)
    String execId = quick.execCreateCmd(id).withCmd(command.toArray(String[]::new)).withAttachStdout(true)
        .withAttachStderr(true).exec().getId();
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    ResultCallback.Adapter<Frame> cb = docker.execStartCmd(execId).exec(new ResultCallback.Adapter<>() {
      @Override
      public void onNext(Frame f) {
        byte[] payload = f.getPayload();
        output.write(payload, 0, Math.max(0, Math.min(payload.length, MAX_OUTPUT - output.size())));
      }
    });
    try {
      if (!cb.awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        cb.close();
        endTimedOut(execId);
        return new ExecResult(-1, "timed out after " + timeout);
      }
    } catch (InterruptedException | IOException e) {
      Thread.currentThread().interrupt();
      return new ExecResult(-1, "interrupted");
    }
    Long code = quick.inspectExecCmd(execId).exec().getExitCodeLong();
    return new ExecResult(code == null ? -1 : code.intValue(), text(output.toByteArray()));
  }

  /** The output's text: a character the bound cut is left out, bytes that are no UTF-8 are U+FFFD. */
  static String text(byte[] bytes) {
    CharBuffer out = CharBuffer.allocate(bytes.length);
    StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE)
        .decode(ByteBuffer.wrap(bytes), out, false);
    return out.flip().toString();
  }

  /** An exec past its timeout: its processes killed ({@link TimedOutExecs}), else left one more each probe period. */
  private void endTimedOut(String execId) {
    try {
      // on the passes' client too: a start stuck in runc holds the exec's lock, and its inspect waited the transport's 10
      // minutes, the probe's thread with it (until 2026-12-06)
      var e = quick.inspectExecCmd(execId).exec();
      if (Boolean.TRUE.equals(e.isRunning()) && e.getPidLong() != null) {
        TimedOutExecs.end(e.getContainerID(), e.getPidLong());
      }
    } catch (RuntimeException e) {
      log.warn("exec {} timed out and could not be ended: {}", execId, e.toString());
    }
  }
}
