package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.PodView;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Rolling updates on five real hosts: one host at a time, a broken version rolled back, undo, a
 * surge. Each scenario has a DaemonSet of its own, and they run at once (each mostly waits: for
 * pods to turn Ready one host after the other, for a progress deadline); after each, the fleet
 * deletes the DaemonSets it applied. Its methods are the concurrent ones, not the class: a class
 * annotated so ran beside the next class, whose fleet of the same names it tore up.
 */
class RolloutScenariosTest {
  @RegisterExtension
  static final FleetPerClass FLEET = new FleetPerClass(5).scenariosAtOnce();
  static TestFleet fleet;

  @BeforeAll
  static void fleet() {
    fleet = FLEET.fleet;
  }

  /**
   * Ready 1 s after start, so each host's update takes visible time: its web server starts then, and
   * the readiness probe asks it for {@code readyPath} (a path it does not have keeps the pod unready).
   * An HTTP probe and a shell that waits rather than polls: a runc exec on every host every second
   * was most of a fleet's load on a full machine.
   */
  static String app(String name, String image, String readyPath, String annotations) {
    return app(name, image, readyPath, annotations, "sleep 1");
  }

  /** @param beforeServing what the pod's shell does before its web server starts (its time to Ready) */
  static String app(String name, String image, String readyPath, String annotations, String beforeServing) {
    return """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: %s
        %s
        spec:
          selector: {matchLabels: {app: %s}}
          template:
            metadata: {labels: {app: %s}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: %s
                command: [sh, -c, "trap 'exit 0' TERM; %s; httpd -p 8080 -h /www; sleep 2147483647 & wait"]
                readinessProbe:
                  httpGet: {path: %s, port: 8080}
                  periodSeconds: 1
                  timeoutSeconds: 5
        """.formatted(name, annotations, name, name, image, beforeServing, readyPath);
  }

  /** Over the control API: dsctl's own apply is FleetScenariosTest's. */
  static void apply(String yaml) {
    fleet.apply(yaml);
  }

  /** Prints a scenario's sampled states in one piece (the other scenarios print at the same time). */
  static void printSeen(String title, List<List<String>> seen) {
    StringBuilder b = new StringBuilder(title).append('\n');
    seen.forEach(s -> b.append("  ").append(s).append('\n'));
    System.out.print(b);
  }

  /** Per host: the DaemonSet's pod's revision and whether it is Ready ("-" when none). */
  static List<String> snapshot(String name) {
    List<String> out = new ArrayList<>();
    for (TestHost h : fleet.hosts.values()) {
      out.add(fleet.podOn(name, h).map(p -> p.getRevision() + (p.getStatus().getReady() ? "R" : "u")).orElse("-"));
    }
    return out;
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void anImageChangeRollsAcrossFiveHostsOneAtATime() throws Exception {
    apply(app("roll", "local/busybox:1", "/index.html", ""));
    TestFleet.await("roll revision 1 Ready everywhere", 120, () -> snapshot("roll").stream().allMatch(s -> s.equals("1R")));
    apply(app("roll", "local/busybox:2", "/index.html", ""));
    List<List<String>> seen = new ArrayList<>();
    TestFleet.await("roll revision 2 Ready everywhere", 180, () -> {
      List<String> s = snapshot("roll");
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s)) {
        seen.add(s);
      }
      return s.stream().allMatch(x -> x.equals("2R"));
    });
    printSeen("roll as seen by dsctl, one line per change (revision, R = Ready, u = unready):", seen);
    // one host at a time: in every sampled state at most one host runs the new revision unready,
    // not counting hosts that moved from an old pod that had already turned unready (those are
    // replaced at once, by design: docs/rollouts.md)
    java.util.Set<Integer> movedFromUnready = new java.util.HashSet<>();
    for (int i = 1; i < seen.size(); i++) {
      List<String> prev = seen.get(i - 1);
      List<String> cur = seen.get(i);
      for (int hst = 0; hst < cur.size(); hst++) {
        if (prev.get(hst).equals("1u") && cur.get(hst).startsWith("2")) {
          movedFromUnready.add(hst);
        }
      }
      long inFlight = java.util.stream.IntStream.range(0, cur.size())
          .filter(hst -> cur.get(hst).equals("2u") && !movedFromUnready.contains(hst)).count();
      assertThat(inFlight).as("hosts updating at once in %s", cur).isLessThanOrEqualTo(1);
    }
    assertThat(fleet.dsctlOk("rollout", "status", "ds/roll", "--timeout", "10")).contains("successfully rolled out");
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void aBrokenVersionStopsAfterTheFirstHostAndIsRolledBack() throws Exception {
    String annotations = "  annotations: {dsfleet.io/progress-deadline-seconds: \"30\", dsfleet.io/on-failure: rollback}";
    apply(app("broken", "local/busybox:2", "/index.html", annotations));
    TestFleet.await("broken revision 1 Ready everywhere", 120, () -> snapshot("broken").stream().allMatch(s -> s.equals("1R")));
    apply(app("broken", "local/busybox:2", "/never-there", annotations));
    List<List<String>> seen = new ArrayList<>();
    TestFleet.await("broken rolled back: every host Ready on the old template", 180, () -> {
      List<String> s = snapshot("broken");
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s)) {
        seen.add(s);
      }
      return fleet.daemonSet("broken").getRevision() >= 3 && s.stream().allMatch(x -> x.equals("3R"));
    });
    printSeen("broken as seen by dsctl, one line per change (revision, R = Ready, u = unready):", seen);
    long hostsThatGotTheBrokenVersion = seen.stream().flatMap(List::stream).filter(x -> x.startsWith("2")).distinct().count();
    assertThat(seen.stream().mapToLong(s -> s.stream().filter(x -> x.startsWith("2")).count()).max().orElse(0))
        .as("the broken revision 2 never ran on more than one host at once").isLessThanOrEqualTo(1);
    assertThat(hostsThatGotTheBrokenVersion).isPositive();
    var status = fleet.dsctl("rollout", "status", "ds/broken", "--timeout", "10");
    assertThat(status.exit()).isEqualTo(1);
    assertThat(status.out()).contains("rolled back from revision 2 to revision 3");
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void undoRestoresThePreviousTemplateAsANewRevision() throws Exception {
    // every host at once (maxUnavailable 100%): this scenario is about the revisions, not the pace
    String allAtOnce = "spec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 100%}}\n  selector:";
    apply(app("undo", "local/busybox:1", "/index.html", "").replace("spec:\n  selector:", allAtOnce));
    TestFleet.await("undo revision 1 Ready everywhere", 120, () -> snapshot("undo").stream().allMatch(s -> s.equals("1R")));
    apply(app("undo", "local/busybox:2", "/index.html", "").replace("spec:\n  selector:", allAtOnce));
    TestFleet.await("undo revision 2 Ready everywhere", 120, () -> snapshot("undo").stream().allMatch(s -> s.equals("2R")));
    fleet.dsctlOk("rollout", "undo", "ds/undo", "--to-revision", "1");
    TestFleet.await("undo revision 3 (template of 1) Ready everywhere", 180, () -> snapshot("undo").stream().allMatch(s -> s.equals("3R")));
    assertThat(fleet.daemonSet("undo").getImages()).isEqualTo("local/busybox:1");
    String history = fleet.dsctlOk("rollout", "history", "ds/undo");
    assertThat(history).contains("2 ").contains("3 ");
    for (PodView p : fleet.pods("undo")) {
      assertThat(p.getStatus().getReady()).isTrue();
    }
  }

  /** Per host: its pods of the DaemonSet, each as revision and R (Ready) or u, joined with "+". */
  static List<String> podsPerHost() {
    List<PodView> pods = fleet.pods("surge");
    List<String> out = new ArrayList<>();
    for (TestHost h : fleet.hosts.values()) {
      out.add(pods.stream().filter(p -> p.getNodeName().equals(h.name)).filter(p -> !p.getPending())
          .map(p -> p.getRevision() + (p.getStatus().getReady() ? "R" : "u")).sorted()
          .collect(java.util.stream.Collectors.joining("+")));
    }
    return out;
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void aSurgeRunsTheNewPodNextToTheOldOneOnOneHostAtATime() throws Exception {
    String surge = "spec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}\n  selector:";
    apply(app("surge", "local/busybox:1", "/index.html", "").replace("spec:\n  selector:", surge));
    TestFleet.await("surge revision 1 Ready everywhere", 120, () -> podsPerHost().stream().allMatch(s -> s.equals("1R")));
    long before = fleet.daemonSet("surge").getRevision();
    apply(app("surge", "local/busybox:2", "/index.html", "").replace("spec:\n  selector:", surge));
    String next = String.valueOf(before + 1);
    List<List<String>> seen = new ArrayList<>();
    TestFleet.await("surge revision " + next + " alone and Ready everywhere", 180, () -> {
      List<String> s = podsPerHost();
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s)) {
        seen.add(s);
      }
      return s.stream().allMatch(x -> x.equals(next + "R"));
    });
    printSeen("surge as seen by dsctl, one line per change (pods per host: revision, R = Ready, u = unready):", seen);
    for (List<String> s : seen) {
      // maxSurge 1: one host at a time waits for its new pod next to the old one (a host whose new pod is Ready
      // may still be stopping its old one: that is the end of its step, not a second surge)
      assertThat(s.stream().filter(x -> x.contains("+" + next + "u")).count())
          .as("hosts with an unready new pod next to the old one in %s", s).isLessThanOrEqualTo(1);
      assertThat(s).as("never more than one extra pod per host in %s", s).allMatch(x -> x.split("\\+").length <= 2);
      assertThat(s).as("no host is left without a Ready pod by the update in %s", s).allMatch(x -> x.contains("R"));
    }
    assertThat(seen.stream().flatMap(List::stream).filter(x -> x.contains("+")).distinct())
        .as("the new pod ran next to the old one").isNotEmpty();
  }
}
