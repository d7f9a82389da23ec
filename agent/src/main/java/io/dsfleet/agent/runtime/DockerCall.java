package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import io.dsfleet.agent.metrics.AgentCounters;
import io.dsfleet.agent.runtime.DockerRuntime.AnswerTooLarge;
import java.io.IOException;
import java.util.function.Supplier;

/**
 * How a call to Docker ends, as the agent reads it ({@link DockerRuntime}'s calls): timed and
 * counted by operation; an answer over what the agent reads as that call's failure; a daemon that
 * cannot be reached as the runtime unavailable; Docker's own errors as they are.
 */
final class DockerCall {
  private DockerCall() {}

  /** A Docker call, timed and counted by operation (docs/operations.md); an unreachable daemon as such. */
  static <T> T run(String host, String what, Supplier<T> body) {
    try {
      return AgentCounters.docker(what.replace(' ', '_'), body, e -> e instanceof NotFoundException);
    } catch (DockerException e) {
      throw e;
    } catch (RuntimeException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof UnixSocketHttpClient.TooLarge tooLarge) { // Docker answered (JSON's reader wraps it in an IOException)
          throw new AnswerTooLarge(what + ": " + tooLarge.getMessage(), e);
        }
      }
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof IOException) {
          throw new RuntimeUnavailableException("docker at " + host + " unreachable (" + what + "): " + t.getMessage(), e);
        }
      }
      throw e;
    }
  }
}
