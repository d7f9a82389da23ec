package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.*;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl describe ds|node NAME`: spec summary, counters, placement per node with reasons, pods, recent events. */
@Command(name = "describe", description = "Show a DaemonSet or node in detail, with placement reasons and recent events.")
public final class DescribeCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "TYPE", description = "ds or node")
  String type;

  @Parameters(index = "1", paramLabel = "NAME")
  String name;

  @Option(names = {"-n", "--namespace"}, defaultValue = "default")
  String namespace;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    ObjectKind kind = Kinds.parse(type);
    if (kind != ObjectKind.DAEMON_SET && kind != ObjectKind.NODE) {
      throw new UsageException("describe takes ds or node");
    }
    DescribeResponse r = control.describe(DescribeRequest.newBuilder().setKind(kind).setNamespace(namespace).setName(name).build());
    PrintWriter o = out();
    if (kind == ObjectKind.DAEMON_SET) {
      DaemonSetView d = r.getDaemonSet();
      var s = d.getStatus();
      o.printf("Name:           %s%nNamespace:      %s%nRevision:       %d (template %s)%nGeneration:     %d%nImages:         %s%nNode-Selector:  %s%n",
          d.getName(), d.getNamespace(), d.getRevision(), d.getTemplateHash(), d.getGeneration(), d.getImages(),
          d.getNodeSelector().isEmpty() ? "<none>" : d.getNodeSelector());
      o.printf("Desired Number of Nodes Scheduled: %d%nCurrent Number of Nodes Scheduled: %d%nNumber of Nodes Scheduled with Up-to-date Pods: %d%n"
              + "Number of Nodes Scheduled with Available Pods: %d%nNumber of Nodes Misscheduled: %d%nPods Status:  %d Ready / %d Unavailable%n",
          s.getDesired(), s.getCurrent(), s.getUpdated(), s.getAvailable(), s.getMisscheduled(), s.getReady(), s.getUnavailable());
      o.println("Placement:");
      Table t = new Table("  NODE", "PLACED", "REASON");
      for (Placement p : r.getPlacementsList()) {
        t.row("  " + p.getNodeName(), p.getPlaced() ? "yes" : "no", p.getReason().isEmpty() ? "-" : p.getReason());
      }
      t.print(o);
    } else {
      NodeView n = r.getNode();
      o.printf("Name:               %s%nStatus:             %s%s%nAddresses:          %s%nAgent:              %s (%s/%s)%n",
          n.getInfo().getName(), n.getReady() ? "Ready" : "NotReady", n.getUnschedulable() ? ",SchedulingDisabled" : "",
          String.join(",", n.getInfo().getAddressesList()), n.getInfo().getAgentVersion(), n.getInfo().getOs(), n.getInfo().getArch());
      o.println("Labels:");
      new TreeMap<>(n.getLabelsMap()).forEach((k, v) -> o.println("  " + k + "=" + v + (n.getAdminLabelsMap().containsKey(k) ? "   (dsctl)" : "")));
      o.println("Taints:" + (n.getTaintsCount() == 0 ? " <none>" : ""));
      n.getTaintsList().forEach(t -> o.println("  " + GetCommand.taint(t)));
    }
    o.println("Pods:" + (r.getPodsCount() == 0 ? " <none>" : ""));
    if (r.getPodsCount() > 0) {
      Table t = new Table("  NAME", "NODE", "READY", "STATUS", "REVISION");
      for (PodView p : r.getPodsList()) {
        t.row("  " + p.getStatus().getPodName(), p.getNodeName(), p.getStatus().getReady(), GetCommand.podStatus(p), p.getRevision());
      }
      t.print(o);
    }
    o.println("Events:" + (r.getEventsCount() == 0 ? " <none>" : ""));
    if (r.getEventsCount() > 0) {
      Table t = new Table("  TYPE", "REASON", "AGE", "MESSAGE");
      long now = Dsctl.clock.millis();
      for (Event e : r.getEventsList()) {
        t.row("  " + e.getType(), e.getReason(), Table.age(e.getAtMillis(), now), e.getMessage());
      }
      t.print(o);
    }
    return 0;
  }

  static String time(long millis) {
    return Instant.ofEpochMilli(millis).toString();
  }
}
