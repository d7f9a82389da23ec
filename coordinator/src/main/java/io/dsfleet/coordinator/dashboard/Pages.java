package io.dsfleet.coordinator.dashboard;

import static io.dsfleet.coordinator.dashboard.Html.age;
import static io.dsfleet.coordinator.dashboard.Html.esc;
import static io.dsfleet.coordinator.dashboard.Html.link;
import static io.dsfleet.coordinator.dashboard.Html.seg;
import static io.dsfleet.coordinator.dashboard.Html.table;

import io.dsfleet.common.match.Placement;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.LogsRequest;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The dashboard's pages, rendered on the server from the fleet's view (the snapshot `dsctl get`
 * reads): plain HTML, tables and links, readable without JavaScript; the parts that move (the
 * rollout grid, counters) are fragments of their own that the page's small script fetches again
 * each second. Revisions and states are written out in each cell, colour only repeats them.
 */
final class Pages {
  private Pages() {}

  static String overview(Fleet fleet, long now) {
    List<NodeSnapshot> nodes = fleet.nodes();
    long ready = nodes.stream().filter(NodeSnapshot::ready).count();
    long cordoned = nodes.stream().filter(NodeSnapshot::unschedulable).count();
    StringBuilder b = new StringBuilder("<section data-live=\"/fragments/overview\">").append(counters(fleet, nodes.size(), ready, cordoned))
        .append("</section>");
    b.append("<h2>DaemonSets</h2>").append(daemonSetTable(fleet.daemonSets(), now));
    b.append("<h2>Recent events</h2>").append(events(fleet, k -> true, 20, now));
    return b.toString();
  }

  static String counters(Fleet fleet, int nodes, long ready, long cordoned) {
    List<DsSnapshot> ds = fleet.daemonSets();
    long moving = ds.stream().filter(d -> rollout(d).equals("progressing")).count();
    long failed = ds.stream().filter(d -> rollout(d).startsWith("failed")).count();
    return "<ul class=\"counters\"><li><b>" + ready + "</b> of " + nodes + " nodes Ready</li><li><b>" + (nodes - ready)
        + "</b> NotReady</li><li><b>" + cordoned + "</b> cordoned</li><li><b>" + ds.size() + "</b> DaemonSets</li><li><b>" + moving
        + "</b> rolling out</li><li><b>" + failed + "</b> failed</li></ul>";
  }

  /**
   * A rollout's state in a word or two: complete, progressing, paused, failed; complete as `dsctl rollout status` says
   * it ({@link DsSnapshot#rolledOut}): before 2026-12-06 from the counters alone, so a rollout waiting for a node it
   * moved that went down (no longer desired) read complete here while dsctl waited (helper-162).
   */
  static String rollout(DsSnapshot d) {
    if (d.rollout() != null && d.rollout().failedOrRolledBack()) {
      return "failed: " + d.rollout().reason();
    }
    if (d.rollout() != null && d.rollout().paused()) {
      return "paused";
    }
    return d.rolledOut() ? "complete" : "progressing";
  }

  static String daemonSetTable(List<DsSnapshot> all, long now) {
    List<List<String>> rows = new ArrayList<>();
    for (DsSnapshot d : all) {
      var s = d.status();
      rows.add(List.of(esc(d.namespace()), link("/daemonsets/" + seg(d.namespace()) + "/" + seg(d.name()), d.name()),
          esc(s.desired()), esc(s.current()), esc(s.ready()), esc(s.updated()), esc(s.available()), esc(d.revision()),
          "<span class=\"state " + rollout(d).split(":")[0] + "\">" + esc(rollout(d)) + "</span>", esc(age(d.createdAtMillis(), now))));
    }
    return table(List.of("NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "REVISION", "ROLLOUT", "AGE"),
        rows);
  }

  static String nodes(Fleet fleet, long now) {
    List<List<String>> rows = new ArrayList<>();
    for (NodeSnapshot n : fleet.nodes()) {
      rows.add(List.of(link("/nodes/" + seg(n.name()), n.name()), status(n), esc(n.info().getAgentVersion()),
          esc(n.lastHeartbeat() == null ? "-" : age(n.lastHeartbeat().toEpochMilli(), now)), esc(n.pods().size()),
          esc(labels(n.labels())), esc(n.taints().stream().map(Object::toString).collect(Collectors.joining(", "))),
          esc(age(n.joinedAt().toEpochMilli(), now))));
    }
    return table(List.of("NAME", "STATUS", "AGENT", "LAST HEARTBEAT", "PODS", "LABELS", "TAINTS", "AGE"), rows);
  }

  private static String status(NodeSnapshot n) {
    return "<span class=\"state " + (n.ready() ? "ready" : "notready") + "\">" + (n.ready() ? "Ready" : "NotReady")
        + (n.unschedulable() ? ",SchedulingDisabled" : "") + "</span>" + (n.ready() ? "" : " " + esc(n.notReadyReason()));
  }

  private static String labels(Map<String, String> labels) {
    return labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().collect(Collectors.joining(", "));
  }

  static String node(Fleet fleet, NodeSnapshot n, boolean admin, String formToken, long now) {
    StringBuilder b = new StringBuilder("<p>").append(status(n)).append(" &middot; agent ").append(esc(n.info().getAgentVersion()))
        .append(" &middot; ").append(esc(String.join(", ", n.info().getAddressesList()))).append(" &middot; last heartbeat ")
        .append(esc(n.lastHeartbeat() == null ? "-" : age(n.lastHeartbeat().toEpochMilli(), now) + " ago")).append("</p>");
    if (admin) {
      b.append(button("/nodes/" + seg(n.name()) + "/" + (n.unschedulable() ? "uncordon" : "cordon"), n.unschedulable() ? "Uncordon"
          : "Cordon", formToken));
    }
    b.append("<h2>Labels</h2><p>").append(esc(labels(n.labels()))).append("</p><h2>Taints</h2><p>")
        .append(esc(n.taints().isEmpty() ? "none" : n.taints().stream().map(Object::toString).collect(Collectors.joining(", "))))
        .append("</p><h2>Pods</h2>");
    List<List<String>> rows = new ArrayList<>();
    for (PodStatus p : n.pods()) {
      rows.add(List.of(esc(p.getNamespace()), link("/daemonsets/" + seg(p.getNamespace()) + "/" + seg(p.getDaemonSet()), p.getDaemonSet()),
          esc(p.getPodName()), esc(p.getPhase() + (p.getReady() ? ", Ready" : "")), esc(p.getReason()),
          link("/nodes/" + seg(n.name()) + "/logs/" + seg(p.getNamespace()) + "/" + seg(p.getDaemonSet()), "logs")));
    }
    b.append(table(List.of("NAMESPACE", "DAEMONSET", "POD", "STATUS", "REASON", "LOGS"), rows));
    b.append("<h2>Events</h2>").append(events(fleet, Events.nodeKey(n.name())::equals, 50, now));
    return b.toString();
  }

  static String daemonSet(Fleet fleet, DsSnapshot d, boolean admin, String formToken, long now) {
    String base = "/daemonsets/" + seg(d.namespace()) + "/" + seg(d.name());
    StringBuilder b = new StringBuilder();
    if (admin) {
      b.append("<div class=\"actions\">").append(d.rollout() != null && d.rollout().paused()
          ? button(base + "/resume", "Resume rollout", formToken) : button(base + "/pause", "Pause rollout", formToken))
          .append(button(base + "/restart", "Restart every pod", formToken, d.resourceVersion()))
          .append(button(base + "/undo", "Undo (previous revision)", formToken, d.resourceVersion())).append("</div>");
    }
    b.append("<section data-live=\"/fragments").append(esc(base)).append("\">").append(rolloutSection(fleet, d, now)).append("</section>");
    b.append("<h2>Where it does not run, and why</h2>");
    List<List<String>> why = new ArrayList<>();
    String key = Fleet.key(d.namespace(), d.name());
    for (NodeSnapshot n : fleet.nodes()) {
      Placement.Verdict v = n.verdicts().get(key);
      if (v != null && !v.shouldRun()) {
        why.add(List.of(link("/nodes/" + seg(n.name()), n.name()), esc(v.reason() + (v.shouldContinueRunning() ? " (a running pod stays)" : ""))));
      }
    }
    b.append(table(List.of("NODE", "REASON"), why));
    b.append("<h2>Events</h2>").append(events(fleet, Events.dsKey(d.namespace(), d.name())::equals, 50, now));
    return b.toString();
  }

  /**
   * A pod's log page's body up to its last lines, which go in the {@code <pre>} escaped, one a line,
   * before {@code </pre>}; with the page's script, the lines as they come are streamed there. The
   * container is the pod's first unless the URL names one (?container=NAME).
   */
  static String logsTop(LogsRequest req) {
    String base = "/nodes/" + seg(req.getNodeName()) + "/logs/" + seg(req.getNamespace()) + "/" + seg(req.getDaemonSet())
        + (req.getContainer().isEmpty() ? "" : "?container=" + java.net.URLEncoder.encode(req.getContainer(), StandardCharsets.UTF_8));
    StringBuilder b = new StringBuilder("<p>The pod of ").append(link("/daemonsets/" + seg(req.getNamespace()) + "/"
        + seg(req.getDaemonSet()), req.getDaemonSet())).append(" on ").append(link("/nodes/" + seg(req.getNodeName()), req.getNodeName()))
        .append(req.getContainer().isEmpty() ? "" : ", container " + esc(req.getContainer()))
        .append(": its last lines, then each new one as it comes (with JavaScript; without, reload for more).</p>");
    return b.append("<pre class=\"log\" data-stream=\"").append(esc("/streams" + base)).append("\">").toString();
  }

  /** The part of a DaemonSet's page that moves: the rollout's state and budget, the grid of nodes, the revisions. */
  static String rolloutSection(Fleet fleet, DsSnapshot d, long now) {
    var s = d.status();
    StringBuilder b = new StringBuilder("<p class=\"rollout\">Revision <b>r").append(d.revision()).append("</b> &middot; rollout <span class=\"state ")
        .append(esc(rollout(d).split(":")[0])).append("\">").append(esc(rollout(d))).append("</span> &middot; ").append(s.updated())
        .append(" of ").append(s.desired()).append(" updated, ").append(s.available()).append(" available, ").append(s.unavailable())
        .append(" unavailable (budget: ").append(d.maxUnavailable()).append(" at a time)");
    if (!d.waitingNotReady().isEmpty()) {
      b.append(" &middot; waiting for NotReady nodes: ").append(esc(String.join(", ", d.waitingNotReady())));
    }
    b.append("</p>").append(grid(fleet, d)).append("<h2>Revisions</h2>");
    List<List<String>> revs = new ArrayList<>();
    for (StoredRevision r : d.revisions()) {
      revs.add(List.of(esc("r" + r.revision()) + (r.revision() == d.revision() ? " (current)" : ""), esc(r.hash()),
          esc(r.changeCause() == null ? "" : r.changeCause()), esc(age(r.createdAtMillis(), now))));
    }
    return b.append(table(List.of("REVISION", "TEMPLATE", "CHANGE-CAUSE", "AGE"), revs)).toString();
  }

  /** One cell a node: its name, the revision its pod runs and whether it is Ready, written out. */
  static String grid(Fleet fleet, DsSnapshot d) {
    String key = Fleet.key(d.namespace(), d.name());
    StringBuilder b = new StringBuilder("<ol class=\"grid\" aria-label=\"nodes of ").append(esc(d.name())).append("\">");
    for (NodeSnapshot n : fleet.nodes()) {
      Placement.Verdict v = n.verdicts().get(key);
      PodAssignment assigned = n.desired().stream().filter(a -> a.dsKey().equals(key)).reduce((x, y) -> y).orElse(null);
      PodStatus pod = n.pods().stream().filter(p -> p.getNamespace().equals(d.namespace()) && p.getDaemonSet().equals(d.name())
          && (assigned == null || p.getPodName().equals(assigned.podName()))).findFirst().orElse(null);
      String state;
      String label;
      if (assigned == null && pod == null) {
        state = "none";
        label = v == null || v.shouldRun() ? "no pod" : "not here";
      } else if (assigned == null) {
        state = "pending";
        label = "r" + revisionOf(d, pod.getTemplateHash()) + " removing";
      } else if (pod == null) {
        state = n.ready() ? "pending" : "notready";
        label = "r" + revisionOf(d, assigned.hash()) + (n.ready() ? " starting" : " node NotReady");
      } else if (!pod.getTemplateHash().equals(assigned.hash())) {
        state = n.ready() ? "pending" : "notready";
        label = "r" + revisionOf(d, pod.getTemplateHash()) + " \u2192 r" + revisionOf(d, assigned.hash()) + (n.ready() ? " moving" : " node NotReady");
      } else {
        long rev = revisionOf(d, pod.getTemplateHash());
        state = !n.ready() ? "notready" : !pod.getReady() ? "pending" : rev == d.revision() ? "ready" : "old";
        label = "r" + rev + " " + (!n.ready() ? "node NotReady" : pod.getReady() ? "Ready" : pod.getPhase());
      }
      b.append("<li class=\"cell ").append(state).append("\" title=\"").append(esc(n.name() + ": " + label)).append("\"><a href=\"/nodes/")
          .append(esc(seg(n.name()))).append("\">").append(esc(n.name())).append("</a><span>").append(esc(label)).append("</span></li>");
    }
    return b.append("</ol>").toString();
  }

  private static long revisionOf(DsSnapshot d, String hash) {
    return d.revisions().stream().filter(r -> r.hash().equals(hash)).mapToLong(StoredRevision::revision).max().orElse(0);
  }

  static String events(Fleet fleet, java.util.function.Predicate<String> objects, int last, long now) {
    List<Events.Recorded> all = fleet.events(objects).events();
    List<List<String>> rows = new ArrayList<>();
    for (Events.Recorded r : all.subList(Math.max(0, all.size() - last), all.size())) {
      rows.add(0, List.of(esc(age(r.event().atMillis(), now)), "<span class=\"state " + (r.event().type().equals("Warning") ? "warning"
          : "normal") + "\">" + esc(r.event().type()) + "</span>", esc(r.event().reason()), objectLink(r.object()), esc(r.event().message())));
    }
    return table(List.of("AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"), rows);
  }

  private static String objectLink(String key) {
    if (key.startsWith("ds/")) {
      String[] p = key.split("/", 3);
      return link("/daemonsets/" + seg(p[1]) + "/" + seg(p[2]), "daemonset/" + p[2]);
    }
    return key.startsWith("node/") ? link("/nodes/" + seg(key.substring(5)), key) : esc(key);
  }

  /** An action: a form that posts, with the login's form token (no other site can make a logged-in browser post it). */
  static String button(String action, String text, String formToken) {
    return button(action, text, formToken, -1);
  }

  /** @param resourceVersion the version the page showed (an undo or restart is refused if the DaemonSet changed since); -1: none */
  static String button(String action, String text, String formToken, long resourceVersion) {
    return "<form method=\"post\" action=\"" + esc(action) + "\"><input type=\"hidden\" name=\"token\" value=\"" + esc(formToken)
        + "\">" + (resourceVersion < 0 ? "" : "<input type=\"hidden\" name=\"rv\" value=\"" + resourceVersion + "\">") + "<button>"
        + esc(text) + "</button></form>";
  }
}
