package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.coordinator.cli.Dsctl;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.store.SqliteStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A coordinator as a replica, in this JVM: a group of one formed with `init` and `--bootstrap`,
 * what dsctl's replica verbs do to it, what a replica that never joined says, and backup and
 * restore of its store. Groups of three: ReplicatedStoreTest (in-process) and the e2e
 * ReplicatedCoordinatorsTest (processes on hosts of their own).
 */
class ReplicaCliTest {
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  static Result run(Object command, String... args) {
    if (command instanceof Dsctl) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cl = new CommandLine(command);
      cl.setOut(new PrintWriter(out, true));
      cl.setErr(new PrintWriter(err, true));
      int exit = cl.execute(args);
      return new Result(exit, out.toString(), err.toString());
    }
    CommandLine cl = new CommandLine(command);
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream printedOut = new ByteArrayOutputStream();
    ByteArrayOutputStream printedErr = new ByteArrayOutputStream();
    System.setOut(new PrintStream(printedOut, true, StandardCharsets.UTF_8)); // ds-coordinator's commands print to System.out
    System.setErr(new PrintStream(printedErr, true, StandardCharsets.UTF_8));
    try {
      int exit = cl.execute(args);
      return new Result(exit, printedOut.toString(StandardCharsets.UTF_8), printedErr.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }

  private CoordinatorOptions replica(Path data, int port, boolean bootstrap) {
    CoordinatorOptions o = CoordinatorFixture.options(data, false);
    ReplicationOptions r = ReplicationOptions.of("c1", List.of("c1,127.0.0.1:" + peerPort + ",127.0.0.1:" + port)).withBootstrap(bootstrap);
    return new CoordinatorOptions(o.host(), port, data, o.fleet(), o.tickInterval(), o.maxMessageBytes(), false, o.tlsNames(),
        o.nodeCertTtl(), o.connections(), r);
  }

  private int peerPort;

  @Test
  void aReplicaThatNeverJoinedRefusesToStartAndSaysHowToJoin() throws Exception {
    peerPort = FreePorts.pick();
    Path data = dir.resolve("data");
    assertThatThrownBy(() -> new CoordinatorServer(replica(data, FreePorts.pick(), false), Clock.systemUTC(), false))
        .hasMessageContaining("no fleet CA").hasMessageContaining("ds-coordinator join --token");
    assertThat(run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString()).exit())
        .isZero();
    assertThatThrownBy(() -> new CoordinatorServer(replica(data, FreePorts.pick(), false), Clock.systemUTC(), false))
        .hasMessageContaining("has not joined a group").hasMessageContaining("--bootstrap");
    assertThat(data.resolve("raft")).as("nothing made").doesNotExist();
  }

  /** A replica made (init) and serving alone (--bootstrap) on {@code port}, its peer port {@link #peerPort}. */
  private CoordinatorServer groupOfOne(Path data, int port) throws Exception {
    peerPort = FreePorts.pick();
    assertThat(run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString()).exit())
        .isZero();
    CoordinatorServer server = new CoordinatorServer(replica(data, port, true), Clock.systemUTC(), false).start();
    try {
      Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> server.fleet() != null);
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  @Test
  void aGroupOfOneServesAndDsctlListsAddsAndRefusesToRemoveTheLastMember() throws Exception {
    Path data = dir.resolve("data");
    int port = FreePorts.pick();
    try (CoordinatorServer server = groupOfOne(data, port)) {
      String admin = data.resolve("pki/admin.pem").toString();
      List<String> common = List.of("--coordinator", "127.0.0.1:" + port, "--credentials", admin);

      Result list = run(new Dsctl(), with(common, "replica", "list"));
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(list.out()).containsPattern("c1 +leader +127.0.0.1:" + peerPort + " +127.0.0.1:" + port);
      assertThat(list.err()).contains("term 1");

      Result added = run(new Dsctl(), with(common, "replica", "add", "c2", "--peer-address", "127.0.0.1:1",
          "--coordinator-address", "127.0.0.1:2"));
      assertThat(added.exit()).as(added.err()).isZero();
      JoinToken token = JoinToken.parse(added.out().strip());
      // a replica's token admits no node: a stolen one cannot take a node's name
      assertThatThrownBy(() -> server.authority().present(token.text(), "c2", "unused", false))
          .hasMessageContaining("admits only node replica/c2");

      Result bad = run(new Dsctl(), with(common, "replica", "add", "C_2", "--peer-address", "127.0.0.1:1", "--coordinator-address", "x"));
      assertThat(bad.exit()).isEqualTo(1);
      assertThat(bad.err()).contains("replica id");

      Result last = run(new Dsctl(), with(common, "replica", "remove", "c1"));
      assertThat(last.exit()).isEqualTo(1);
      assertThat(last.err()).contains("replica c1 is the last member");
      Result unknown = run(new Dsctl(), with(common, "replica", "remove", "c9"));
      assertThat(unknown.err()).contains("replica c9 is not a member");

      // a fresh read goes through the leadership check
      assertThat(run(new Dsctl(), with(common, "get", "nodes")).exit()).isZero();
    }
  }

  /**
   * A replica that joined and is no member yet is listed below the members, with where its add
   * stands (ReplicaAddsTest: how an add ends); before 2026-12-07 only the leader's log knew of it.
   */
  @Test
  void dsctlListsAJoinedReplicaThatIsNoMemberYetWithWhereItsAddStands() throws Exception {
    Path data = dir.resolve("data");
    int port = FreePorts.pick();
    try (CoordinatorServer server = groupOfOne(data, port)) {
      List<String> common = List.of("--coordinator", "127.0.0.1:" + port, "--credentials", data.resolve("pki/admin.pem").toString());
      Result added = run(new Dsctl(), with(common, "replica", "add", "c2", "--peer-address", "127.0.0.1:1", "--coordinator-address",
          "127.0.0.1:2"));
      assertThat(added.exit()).as(added.err()).isZero();
      Result joined = joinAsC2(dir.resolve("c2"), port, added.out().strip());
      assertThat(joined.exit()).as(joined.err()).isZero();

      Result list = run(new Dsctl(), with(common, "replica", "list")); // c2 never starts: Raft waits for it
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(list.out()).containsPattern("c1 +leader").doesNotContainPattern("c2 +follower")
          .containsPattern("c2 \\(127.0.0.1:1, joined 20[0-9-]+T[0-9:]+Z\\): no member yet: joined: waiting for it to start and catch up");
    }
  }

  /**
   * `join --token -` takes the token from standard input: on the command line any local user reads
   * it in ps while the join runs (a review did, as nobody) and can send it first, getting the CA's key.
   */
  @Test
  void joinReadsItsTokenFromStandardInput() {
    String token = "dsf1." + "ab".repeat(32) + ".0a0b0c." + "cd".repeat(16);
    Result joined = joinWithInput(token + "\n");
    assertThat(joined.err()).as("the token read and used: only the coordinator is missing").contains("the join failed at 127.0.0.1:1: UNAVAILABLE");
    assertThat(joined.exit()).isEqualTo(1);
    assertThat(dir.resolve("data").resolve("pki")).as("a refused join makes no pki/ (before 2026-12-06 it was made first)").doesNotExist();
    Result none = joinWithInput("");
    assertThat(none.exit()).isEqualTo(2);
    assertThat(none.err()).contains("no token on standard input (--token -)");
  }

  private Result joinWithInput(String input) {
    java.io.InputStream stdin = System.in;
    System.setIn(new java.io.ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
    try {
      return run(new CoordinatorMain(), "join", "--data-dir", dir.resolve("data").toString(), "--config", dir.resolve("none.yaml").toString(),
          "--replica-id", "c2", "--peer", "c1,127.0.0.1:1,127.0.0.1:1", "--peer", "c2,127.0.0.1:3,127.0.0.1:4", "--token", "-",
          "--coordinator", "127.0.0.1:1");
    } finally {
      System.setIn(stdin);
    }
  }

  /**
   * A backup whose MAC cannot be written (its disk full once the copy took the last of it; here a
   * directory where the MAC's temporary file goes) leaves no copy: before 2026-12-05 the copy
   * stayed without its MAC, restore refused it but for --unverified, and the same backup tried
   * again was refused as "exists; a backup never overwrites" (helper-94).
   */
  @Test
  void aBackupWhoseMacCannotBeWrittenLeavesNoCopyAndRunsAgainUnderItsName() throws Exception {
    Path data = dir.resolve("data");
    new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false).close();
    Path backup = dir.resolve("backup.db");
    Path blocker = Files.createDirectories(dir.resolve("backup.db.mac.tmp").resolve("in-the-way"));
    String none = dir.resolve("none.yaml").toString();
    Result failed = run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString());
    assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
    assertThat(failed.err()).contains("cannot write " + dir.resolve("backup.db.mac"));
    assertThat(backup).as("the copy without its MAC").doesNotExist();
    Files.delete(blocker);
    Result again = run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString());
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(dir.resolve("backup.db.mac")).exists();
  }

  @Test
  void aBackupRestoresIntoAnEmptyDirectoryAsAStoreNoLogKnows() throws Exception {
    Path data = dir.resolve("data");
    try (CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false).start()) {
      server.fleet().apply("""
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings}
          data: {k: v}
          """, "test", false);
    }
    Path backup = dir.resolve("backup.db");
    String none = dir.resolve("none.yaml").toString();
    Result b = run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString());
    assertThat(b.exit()).as(b.err()).isZero();
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(backup)))
        .as("a backup is the fleet's state: owner-only, as the store").isEqualTo("rw-------");
    assertThat(run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString()).err())
        .contains("never overwrites");
    // a data directory whose pki/ is elsewhere: refused before the store opens (which made a new key there)
    Path key = SqliteStore.secretsKey(data);
    Path aside = Files.move(key, dir.resolve("secrets.key.aside"));
    Result keyless = run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, dir.resolve("keyless.db").toString());
    assertThat(keyless.exit()).isEqualTo(2);
    assertThat(keyless.err()).contains("no " + key);
    assertThat(key).as("no key made in its place").doesNotExist();
    assertThat(dir.resolve("keyless.db")).doesNotExist();
    // a key that is a link whose target is gone (pki/ on a volume not mounted): refused, the link left as it is
    Files.createSymbolicLink(key, dir.resolve("unmounted").resolve("secrets.key"));
    Result dangling = run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, dir.resolve("keyless.db").toString());
    assertThat(dangling.exit()).isEqualTo(2);
    assertThat(Files.isSymbolicLink(key)).as("no key made in the link's place").isTrue();
    assertThat(dir.resolve("keyless.db")).doesNotExist();
    Files.delete(key);
    Files.move(aside, key);

    Path restored = dir.resolve("restored");
    Result noKey = run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(noKey.exit()).isEqualTo(2);
    assertThat(noKey.err()).contains("restore pki/");
    Files.createDirectories(restored.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(restored));
    Result r = run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).as("the backup's time, as its MAC shows").contains("(made 20");
    try (SqliteStore store = new SqliteStore(restored)) {
      assertThat(store.objects()).singleElement().satisfies(o -> assertThat(o.json()).contains("\"k\":\"v\""));
      assertThat(store.appliedEntry()).containsExactly(0, 0);
    }
    assertThat(run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString()).err())
        .contains("already holds a store");
  }

  /** The service's user in these tests (root gives files to it). */
  static final int SERVICE = 61234;

  /**
   * A backup of a new store at {@code backup}, and the service's directory as systemd's
   * DynamicUser= layout and the service's earlier run leave it (a root-only parent; the directory,
   * its pki/ and the Secrets key the service user's): that directory.
   */
  Path servicesDirectoryWithABackup(Path backup, String none) throws Exception {
    Path data = dir.resolve("data");
    new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false).close();
    assertThat(run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString()).exit()).isZero();
    Path privateDir = Files.createDirectory(dir.resolve("private"),
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    Path own = Files.createDirectory(privateDir.resolve("ds-coordinator"));
    Path pki = Files.createDirectory(own.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(own));
    for (Path p : List.of(own, pki, SqliteStore.secretsKey(own))) {
      Files.setAttribute(p, "unix:uid", SERVICE);
      Files.setAttribute(p, "unix:gid", SERVICE);
    }
    return own;
  }

  /**
   * The documented `sudo ds-coordinator restore --data-dir /var/lib/ds-coordinator` with the
   * shipped unit: the directory is the service's own user's (systemd's DynamicUser= layout, a
   * root-only /var/lib/private), and the store root restored there must be that user's too, or the
   * coordinator cannot open it (systemd does not give the tree back when the directory is the
   * user's). Before, the start after a restore failed: "dsfleet.db: Operation not permitted".
   */
  @Test
  void rootsRestoreIntoTheServicesDirectoryLeavesTheStoreToTheService() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    String none = dir.resolve("none.yaml").toString();
    Path backup = dir.resolve("backup.db");
    Path own = servicesDirectoryWithABackup(backup, none);
    int service = SERVICE;
    Path link = Files.createSymbolicLink(dir.resolve("ds-coordinator"), own);
    Result r = run(new CoordinatorMain(), "restore", "--data-dir", link.toString(), "--config", none, backup.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    for (String f : List.of("dsfleet.db", "ds-coordinator.lock")) {
      assertThat(Files.getAttribute(own.resolve(f), "unix:uid")).as(f).isEqualTo(service);
      assertThat(Files.getAttribute(own.resolve(f), "unix:gid")).as(f).isEqualTo(service);
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(own.resolve(f)))).isEqualTo("rw-------");
    }
  }

  /**
   * The service's user (the directory is theirs) renames a FIFO over the copy root's restore just
   * wrote there: before 2026-12-06 root reopened it by name, to sync it and to check its MAC, and
   * waited on the FIFO for good, the directory's lock held (a link there had root open whatever it
   * named; helper-119). The copy is synced and checked through the descriptor that wrote it, and a
   * copy replaced meanwhile is refused, nothing restored.
   */
  @Test
  void aFifoSwappedInForTheCopyRootsRestoreWroteHoldsNothing() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    String none = dir.resolve("none.yaml").toString();
    Path backup = dir.resolve("backup.db");
    Path own = servicesDirectoryWithABackup(backup, none);
    int service = SERVICE;
    BackupCommands.Restore restore = new BackupCommands.Restore();
    java.util.concurrent.atomic.AtomicInteger swapped = new java.util.concurrent.atomic.AtomicInteger();
    restore.copied = () -> { // the service's user, once the copy is written: a FIFO over it, whatever its name
      try {
        for (String copy : List.of("dsfleet.db.restoring", "dsfleet.db")) {
          if (Files.exists(own.resolve(copy))) {
            Path fifo = own.resolve("fifo");
            assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
            Files.move(fifo, own.resolve(copy), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            swapped.incrementAndGet();
          }
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    Result r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30),
        () -> run(restore, "--data-dir", own.toString(), "--config", none, backup.toString()), "root's restore waited on the FIFO");
    assertThat(swapped.get()).as("the hook found the copy").isEqualTo(1);
    assertThat(r.exit()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains("was replaced while the copy was written");
    try (var left = Files.list(own)) {
      assertThat(left.map(p -> p.getFileName().toString())).as("nothing restored").containsExactlyInAnyOrder("pki", "ds-coordinator.lock");
    }
  }

  /**
   * The same for `sudo ds-coordinator join` (a replica whose store was lost joins again): the CA,
   * its key, the Secrets key and the store it was sent are the service's. A join the leader refuses
   * leaves nothing root made: before 2026-12-06 root's empty pki/ stayed, and its lock file (the
   * service's next start refused it), and a directory without pki/ was refused (helper-113). The
   * store is the service's before it is in place: until 2026-12-06 it was given after, and a join
   * killed in between left root's, which the service could not open and the next join refused as a
   * store already there (helper-119).
   */
  @Test
  void rootsJoinIntoTheServicesDirectoryLeavesWhatItWasSentToTheService() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    try (Group group = new Group()) {
      JoinToken real = JoinToken.parse(group.token);
      String wrong = new JoinToken(real.caHash(), real.id(), real.secret().replace(real.secret().charAt(0), real.secret().charAt(0) == 'a' ? 'b' : 'a'))
          .text();
      Result refused = joinAsC2(group.link, group.port, wrong);
      assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
      assertThat(refused.err()).contains("the join failed at");
      try (var left = Files.list(group.own)) {
        assertThat(left.map(p -> p.getFileName().toString())).as("nothing but the lock, as the service makes it").containsExactly("ds-coordinator.lock");
      }
      assertThat(Files.getAttribute(group.own.resolve("ds-coordinator.lock"), "unix:uid")).isEqualTo(group.service);

      JoinGroupCommand join = new JoinGroupCommand();
      Object[] atKill = new Object[1];
      join.stored = () -> { // a kill there (Ctrl-C) would leave the store as it is now
        try {
          atKill[0] = Files.getAttribute(group.own.resolve("dsfleet.db"), "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      Result joined = joinAsC2(join, group.link, group.port, group.token);
      assertThat(joined.exit()).as(joined.err()).isZero();
      assertThat(atKill[0]).as("the store, once in place").isEqualTo(group.service);
      for (String f : List.of("pki", "pki/ca.crt", "pki/ca.key", "pki/secrets.key", "dsfleet.db", "ds-coordinator.lock")) {
        assertThat(Files.getAttribute(group.own.resolve(f), "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as(f).isEqualTo(group.service);
        assertThat(Files.getAttribute(group.own.resolve(f), "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as(f).isEqualTo(group.service);
      }
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(group.own.resolve("pki")))).isEqualTo("rwx------");
    }
  }

  /**
   * A replica whose store was lost joins again, its pki/ kept, and the join fails once it wrote the
   * CA there, while the store comes (the leader gone, a full disk; here what is in the way of the
   * store's copy): before 2026-12-06 the CA files it kept there were root's 0600, and the service
   * could not read them to start (helper-119). They are the service's.
   */
  @Test
  void aJoinThatFailsWhileTheStoreComesLeavesTheKeptPkiToTheService() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    try (Group group = new Group()) {
      Path pki = group.serviceOwns(Files.createDirectory(group.own.resolve("pki"))); // as the service's earlier run left it
      group.serviceOwns(Files.writeString(pki.resolve("ca.crt"), "the service's earlier CA"));
      Path inTheWay = group.serviceOwns(Files.createDirectory(group.own.resolve("dsfleet.db.restoring")));
      group.serviceOwns(Files.writeString(inTheWay.resolve("x"), "x"));
      Result failed = joinAsC2(group.link, group.port, group.token);
      assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
      assertThat(failed.err()).contains("the join failed", "dsfleet.db.restoring");
      assertThat(group.own.resolve("dsfleet.db")).doesNotExist();
      for (String f : List.of("pki", "pki/ca.crt", "pki/ca.key", "pki/secrets.key")) {
        assertThat(Files.getAttribute(group.own.resolve(f), "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as(f).isEqualTo(group.service);
        assertThat(Files.getAttribute(group.own.resolve(f), "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as(f).isEqualTo(group.service);
      }
    }
  }

  /**
   * The service's user (the directory is theirs) swaps pki/ for a link to another directory while
   * root's join waits for the leader: before 2026-12-06 root wrote the fleet CA and its key into that
   * directory, over its own ca.crt and ca.key, and gave them to the service's user (helper-113). The
   * join writes into the pki/ it checked, held open since, and follows no link.
   */
  @Test
  void aLinkSwappedInForPkiWhileRootJoinsIsNeverFollowed() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    try (Group group = new Group()) {
      Path pki = group.serviceOwns(Files.createDirectory(group.own.resolve("pki"))); // as the service's earlier run left it
      Path victim = Files.createDirectory(dir.resolve("victim"));
      for (String f : List.of("ca.crt", "ca.key")) {
        Files.writeString(victim.resolve(f), "the victim's " + f);
      }
      JoinGroupCommand join = new JoinGroupCommand();
      join.checked = () -> { // the service's user, once root checked the directory and before the leader answers
        try {
          Files.move(pki, group.own.resolve("pki.aside"));
          Files.setAttribute(Files.createSymbolicLink(pki, victim), "unix:uid", group.service, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      Result joined = joinAsC2(join, group.link, group.port, group.token);
      assertThat(joined.exit()).as(joined.err()).isZero();
      for (String f : List.of("ca.crt", "ca.key")) {
        assertThat(Files.readString(victim.resolve(f))).as("written through the link").isEqualTo("the victim's " + f);
        assertThat(Files.getAttribute(victim.resolve(f), "unix:uid")).as("given through the link").isEqualTo(0);
      }
      assertThat(victim.resolve("secrets.key")).doesNotExist();
      assertThat(Files.readString(group.own.resolve("pki.aside/ca.crt"))).as("the directory checked got the CA").contains("BEGIN CERTIFICATE");
      assertThat(Files.getAttribute(group.own.resolve("pki.aside/ca.key"), "unix:uid")).isEqualTo(group.service);

      // none there when root checked, one planted before the leader answers: the join fails, nothing written through it
      Files.delete(pki);
      Files.delete(group.own.resolve("dsfleet.db"));
      Result added = run(new Dsctl(), "replica", "add", "c3", "--peer-address", "127.0.0.1:5", "--coordinator-address", "127.0.0.1:6",
          "--coordinator", "127.0.0.1:" + group.port, "--credentials", group.data.resolve("pki/admin.pem").toString());
      assertThat(added.exit()).as(added.err()).isZero();
      JoinGroupCommand planted = new JoinGroupCommand();
      planted.checked = () -> {
        try {
          Files.createSymbolicLink(pki, victim);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      Result failed = joinAs(planted, "c3", "c3,127.0.0.1:5,127.0.0.1:6", group.link, group.port, added.out());
      assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
      assertThat(failed.err()).contains(group.link.resolve("pki").toString());
      for (String f : List.of("ca.crt", "ca.key")) {
        assertThat(Files.readString(victim.resolve(f))).isEqualTo("the victim's " + f);
        assertThat(Files.getAttribute(victim.resolve(f), "unix:uid")).isEqualTo(0);
      }
      assertThat(group.own.resolve("dsfleet.db")).as("no half a join").doesNotExist();
    }
  }

  /**
   * The service's user renames a FIFO over what root's join is about to open in its directory:
   * before 2026-12-06 root looked at the entry, then opened it without O_NONBLOCK (pki/ to write
   * into it, each file it wrote to give it to the service), and waited on the FIFO for good, the
   * directory's lock held. A FIFO at pki/ is refused at once, naming it, before the token is used
   * and with nothing written; one over a file root wrote is left as it is, not given, and the join
   * ends.
   */
  @Test
  void aFifoSwappedInAsRootsJoinOpensAnEntryHoldsNothing() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    try (Group group = new Group()) {
      Path pki = group.serviceOwns(Files.createDirectory(group.own.resolve("pki"))); // as the service's earlier run left it
      JoinGroupCommand join = new JoinGroupCommand();
      join.opening = name -> {
        if (name.equals("pki")) {
          try {
            Files.move(pki, group.own.resolve("pki.aside"));
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          io.dsfleet.common.testing.Fifos.over(pki);
        }
      };
      Result refused = io.dsfleet.common.testing.Fifos.endsWithin(Duration.ofSeconds(30), pki,
          () -> joinAsC2(join, group.link, group.port, group.token));
      assertThat(refused.exit()).as(refused.err()).isEqualTo(2);
      assertThat(refused.err()).contains(group.link.resolve("pki") + " is no regular file (a FIFO, a socket or a device), not a"
          + " directory of its own");
      try (var left = Files.list(group.own)) {
        assertThat(left.map(p -> p.getFileName().toString())).as("nothing written").containsExactlyInAnyOrder("pki", "pki.aside",
            "ds-coordinator.lock");
      }
      assertThat(group.own.resolve("pki.aside")).isEmptyDirectory();

      Files.delete(pki);
      Files.move(group.own.resolve("pki.aside"), pki);
      JoinGroupCommand again = new JoinGroupCommand(); // the token was not used: the refusal came first
      again.opening = name -> {
        if (name.equals("ca.key")) { // as root gives the key it wrote
          io.dsfleet.common.testing.Fifos.over(pki.resolve("ca.key"));
        }
      };
      Result joined = io.dsfleet.common.testing.Fifos.endsWithin(Duration.ofSeconds(60), pki.resolve("ca.key"),
          () -> joinAsC2(again, group.link, group.port, group.token));
      assertThat(joined.exit()).as(joined.err()).isZero();
      assertThat(Files.readAttributes(pki.resolve("ca.key"), java.nio.file.attribute.PosixFileAttributes.class,
          java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther()).as("still the FIFO").isTrue();
      assertThat(Files.getAttribute(pki.resolve("ca.key"), "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as("not given")
          .isEqualTo(0);
      for (String f : List.of("pki/ca.crt", "pki/secrets.key", "dsfleet.db")) {
        assertThat(Files.getAttribute(group.own.resolve(f), "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).as(f).isEqualTo(group.service);
      }
    }
  }

  /**
   * A group of one serving from {@code data} (a replica token for c2 made), and the service's
   * directory of the shipped unit (DynamicUser=): {@code own}, uid {@code service}'s, in a root-only
   * tree, reached through root's link {@code link}.
   */
  private final class Group implements AutoCloseable {
    final int service = 61234;
    final Path data = dir.resolve("data");
    final int port = FreePorts.pick();
    final CoordinatorServer server;
    final String token;
    final Path own;
    final Path link;

    Group() throws Exception {
      peerPort = FreePorts.pick();
      assertThat(run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString()).exit()).isZero();
      server = new CoordinatorServer(replica(data, port, true), Clock.systemUTC(), false).start();
      Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> server.fleet() != null);
      Result added = run(new Dsctl(), "replica", "add", "c2", "--peer-address", "127.0.0.1:1", "--coordinator-address", "127.0.0.1:2",
          "--coordinator", "127.0.0.1:" + port, "--credentials", data.resolve("pki/admin.pem").toString());
      assertThat(added.exit()).as(added.err()).isZero();
      token = added.out().strip();
      Path privateDir = Files.createDirectory(dir.resolve("private"),
          java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
      own = serviceOwns(Files.createDirectory(privateDir.resolve("ds-coordinator")));
      link = Files.createSymbolicLink(dir.resolve("ds-coordinator"), own);
    }

    Path serviceOwns(Path p) throws java.io.IOException {
      Files.setAttribute(p, "unix:uid", service);
      Files.setAttribute(p, "unix:gid", service);
      return p;
    }

    @Override
    public void close() {
      server.close();
    }
  }

  private Result joinAsC2(Path data, int port, String token) {
    return joinAsC2(new JoinGroupCommand(), data, port, token);
  }

  private Result joinAsC2(JoinGroupCommand join, Path data, int port, String token) {
    return joinAs(join, "c2", "c2,127.0.0.1:1,127.0.0.1:2", data, port, token);
  }

  private Result joinAs(JoinGroupCommand join, String id, String peer, Path data, int port, String token) {
    java.io.InputStream stdin = System.in;
    System.setIn(new java.io.ByteArrayInputStream(token.getBytes(StandardCharsets.UTF_8)));
    try {
      return run(join, "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(),
          "--replica-id", id, "--peer", "c1,127.0.0.1:" + peerPort + ",127.0.0.1:" + port, "--peer", peer,
          "--token", "-", "--coordinator", "127.0.0.1:" + port);
    } finally {
      System.setIn(stdin);
    }
  }

  /**
   * A review edited a backup (a replica join token of its own, with a far expiry) and restore took
   * it: the token then got the CA's key. A backup's MAC (keyed from pki/secrets.key, which the
   * backup does not hold) goes beside it; restore checks the copy it made and keeps nothing that
   * does not match. A backup without one is restored only when told to.
   */
  @Test
  void anAlteredBackupIsNotRestored() throws Exception {
    Path data = dir.resolve("data");
    try (CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false).start()) {
      server.fleet().apply("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"settings\"}, \"data\": {\"k\": \"v\"}}",
          "test", false);
    }
    Path backup = dir.resolve("backup.db");
    String none = dir.resolve("none.yaml").toString();
    assertThat(run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString()).exit()).isZero();
    Path mac = dir.resolve("backup.db.mac");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(mac))).isEqualTo("rw-------");
    Path restored = dir.resolve("restored");
    Files.createDirectories(restored.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(restored));
    // the time it was made is under the MAC: an older backup put in its place cannot pass for a newer one
    String made = Files.readString(mac);
    String[] fields = made.strip().split(" ");
    Files.writeString(mac, fields[0] + " " + (Long.parseLong(fields[1]) + 86_400_000L) + "\n");
    Result redated = run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(redated.err()).contains("does not match");
    Files.writeString(mac, made);
    try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + backup); var st = db.createStatement()) {
      st.executeUpdate("UPDATE objects SET json = replace(json, '\"k\":\"v\"', '\"k\":\"w\"')");
    }
    Result altered = run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(altered.exit()).isEqualTo(1);
    assertThat(altered.err()).contains("does not match " + mac);
    assertThat(restored.resolve("dsfleet.db")).as("nothing restored").doesNotExist();

    Files.delete(mac);
    Result unchecked = run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(unchecked.exit()).isEqualTo(2);
    assertThat(unchecked.err()).contains("no " + mac, "--unverified");
    assertThat(restored.resolve("dsfleet.db")).doesNotExist();
    Result told = run(new CoordinatorMain(), "restore", "--unverified", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(told.exit()).as(told.err()).isZero();
    try (SqliteStore store = new SqliteStore(restored)) {
      assertThat(store.objects()).singleElement().satisfies(o -> assertThat(o.json()).contains("\"k\":\"w\""));
    }
  }

  private static String[] with(List<String> common, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(common);
    return all.toArray(String[]::new);
  }
}
