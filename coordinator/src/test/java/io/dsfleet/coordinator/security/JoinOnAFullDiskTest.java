package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.Processes;
import io.dsfleet.coordinator.CoordinatorServer;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A join over real gRPC and TLS to a coordinator whose disk is full: the agent is told UNAVAILABLE
 * (it tries again), not UNKNOWN with a stack trace, and its single-use token still admits it once
 * the disk has room (helper-75: the use was counted and the node never stored, so it was locked
 * out). With no byte free the admission's first write fails, before a use is counted; a node
 * write refused after the use was written (the use given back) is JoinStoreFailureTest's, through
 * a store that fails on that write.
 */
class JoinOnAFullDiskTest extends TlsFleetTest {
  @Test
  void aJoinRefusedByAFullDiskIsUnavailableAndItsSingleUseTokenAdmitsTheRetry() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    server.close();
    Path small = Files.createDirectory(dir.resolve("small"));
    Processes.succeed("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small.toString());
    try {
      server = new CoordinatorServer(io.dsfleet.coordinator.grpc.CoordinatorFixture.options(small.resolve("data"), false),
          clock, clock::nanos, false).start();
      String once = server.authority().createToken(Duration.ofHours(1), "once", "", 1).text();
      Path filler = small.resolve("filler");
      fill(filler);
      var info = io.dsfleet.coordinator.grpc.FakeAgent.info("node-d", java.util.Map.of());
      var refused = org.assertj.core.api.Assertions.catchThrowableOfType(io.grpc.StatusRuntimeException.class, () -> join(info, once));
      assertThat(refused).as("the join on a full disk").isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription()).contains("SQLITE_FULL");
      Files.delete(filler);
      assertThat(join(info, once).cert().getSubjectX500Principal().getName()).as("the retry, with the single-use token").contains("node-d");
    } finally {
      server.close();
      Processes.succeed("umount", "-l", small.toString());
    }
  }

  /** Writes {@code file} until the disk has no byte left. */
  static void fill(Path file) throws Exception {
    try (var out = new java.io.FileOutputStream(file.toFile())) {
      for (int size : new int[] {64 * 1024, 1}) {
        byte[] block = new byte[size];
        try {
          while (true) {
            out.write(block);
          }
        } catch (java.io.IOException diskFull) {
          // full at this size: on to the next
        }
      }
    }
  }
}
