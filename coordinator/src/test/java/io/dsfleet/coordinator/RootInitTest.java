package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.ReplicaCliTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `sudo ds-coordinator init` where the shipped unit's service already made its directory (a
 * replica's start before init, refused without a CA, made it and its pki/): before 2026-12-06 root
 * made the fleet there, the CA, keys and store root's 0600, which the service could not read, and
 * wrote them by path into a pki/ the service's user may swap for a link (helper-113). Refused,
 * nothing made.
 */
class RootInitTest {
  @TempDir Path dir;

  @Test
  void rootsInitInTheServicesDirectoryIsRefusedAndMakesNothing() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a directory of another user's needs root");
    int service = 61234;
    Path privateDir = Files.createDirectory(dir.resolve("private"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path own = Files.createDirectory(privateDir.resolve("ds-coordinator"));
    Path pki = Files.createDirectory(own.resolve("pki"));
    for (Path p : List.of(own, pki)) { // as the service's refused start left them
      Files.setAttribute(p, "unix:uid", service);
      Files.setAttribute(p, "unix:gid", service);
    }
    Path link = Files.createSymbolicLink(dir.resolve("ds-coordinator"), own);

    Result init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", link.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(init.exit()).as(init.out() + init.err()).isEqualTo(2);
    assertThat(init.err()).contains(link + " belongs to uid " + service, "move it aside");
    try (var made = Files.list(own)) {
      assertThat(made.map(p -> p.getFileName().toString())).as("nothing but the lock").containsExactlyInAnyOrder("pki", "ds-coordinator.lock");
    }
    try (var made = Files.list(pki)) {
      assertThat(made).isEmpty();
    }
    assertThat(Files.getAttribute(own.resolve("ds-coordinator.lock"), "unix:uid")).as("the lock the service's").isEqualTo(service);

    // a directory root's own (the documented init before the service's first start) is made the fleet's
    Path fresh = dir.resolve("fresh");
    Result made = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", fresh.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(made.exit()).as(made.err()).isZero();
    assertThat(fresh.resolve("pki/ca.crt")).exists();
  }
}
