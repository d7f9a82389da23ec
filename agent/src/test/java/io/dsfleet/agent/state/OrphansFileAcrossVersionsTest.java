package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Names;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code STATE_DIR/orphans} read by the agent builds a package's rollback or upgrade puts on the same
 * state directory (docs/operations.md, "Across versions"): pods released by namespace and name stay
 * released for an agent before 2026-12-05, which reads pod names alone.
 */
class OrphansFileAcrossVersionsTest {
  @TempDir Path dir;

  /** The orphans file as an agent before 2026-12-05 reads it: the lines that are pod names (LocalState.loadOrphans of 2026-12-04). */
  static Set<String> asReadBefore20261205(Path file) throws Exception {
    return new TreeSet<>(Files.readAllLines(file).stream().filter(l -> !l.isEmpty() && Names.dns1123Subdomain(l) == null).toList());
  }

  /**
   * An agent rolled back to the build of 2026-12-04 read a file of "namespace/name" lines as empty
   * and removed every released pod at its first pass ("no longer desired on this node"), before its
   * coordinator sent the releases again by name; it now finds each by its name.
   */
  @Test
  void podsReleasedByNamespaceAndNameStayReleasedForAnAgentBefore20261205() throws Exception {
    LocalState state = new LocalState(dir);
    state.saveOrphans(new TreeSet<>(Set.of("ops/web-abcde", "kube-system/log-12345", "db-0a1b2")));
    assertThat(asReadBefore20261205(dir.resolve("orphans"))).isEqualTo(Set.of("web-abcde", "log-12345", "db-0a1b2"));
  }

  /** This agent reads the entries as written: a pod released in one namespace never stands for its name in another. */
  @Test
  void thisAgentReadsTheEntriesAsWrittenNotTheNamesForOlderAgents() throws Exception {
    LocalState state = new LocalState(dir);
    Set<String> released = Set.of("ops/web-abcde", "db-0a1b2");
    state.saveOrphans(new TreeSet<>(released));
    assertThat(state.loadOrphans()).isEqualTo(released);
    state.saveOrphans(state.loadOrphans()); // written again as read: the same
    assertThat(state.loadOrphans()).isEqualTo(released);
    assertThat(Files.readAllLines(dir.resolve("orphans"))).containsExactly("db-0a1b2", "ops/web-abcde", OrphansFile.FOR_OLDER_AGENTS,
        "web-abcde");
  }

  /** A file the build of 2026-12-04 wrote (pod names, captured from it) is read as it was: each name a released pod. */
  @Test
  void aFileTheBuildOf20261204WroteIsReadByName() throws Exception {
    Files.writeString(dir.resolve("orphans"), "h161-orphan-qlzgdk4nfp\n"); // as that build wrote it on a real fleet
    assertThat(new LocalState(dir).loadOrphans()).isEqualTo(Set.of("h161-orphan-qlzgdk4nfp"));
    assertThat(new LocalState(dir).released()).isEqualTo(Set.of("h161-orphan-qlzgdk4nfp"));
  }

  /** Nothing to add for older agents when every release is a name alone: the file is as before. */
  @Test
  void namesAloneAreWrittenAsBefore() throws Exception {
    new LocalState(dir).saveOrphans(new TreeSet<>(Set.of("web-abcde")));
    assertThat(Files.readAllLines(dir.resolve("orphans"))).isEqualTo(List.of("web-abcde"));
  }

  /**
   * An agent of 2026-12-05 reads the names for older agents as releases too (a name alone stands for any namespace's pod
   * of it there): no line serves the build of 2026-12-04 and not that of 2026-12-05. Written back by that build, the names
   * stand above the keys, and this agent reads them so (docs/agent.md). Held, no behaviour changed.
   */
  @Test
  void anAgentOf20261205ReadsTheNamesToo() throws Exception {
    new LocalState(dir).saveOrphans(new TreeSet<>(Set.of("ops/web-abcde")));
    Set<String> asRead = new TreeSet<>(Files.readAllLines(dir.resolve("orphans")).stream()
        .filter(l -> !l.isEmpty() && io.dsfleet.common.ReleasedPods.valid(l)).toList()); // LocalState.loadOrphans of 2026-12-05
    assertThat(asRead).isEqualTo(Set.of("ops/web-abcde", "web-abcde"));
    Files.writeString(dir.resolve("orphans"), String.join("\n", asRead) + "\n"); // its saveOrphans
    assertThat(new LocalState(dir).loadOrphans()).isEqualTo(Set.of("ops/web-abcde", "web-abcde"));
  }
}
