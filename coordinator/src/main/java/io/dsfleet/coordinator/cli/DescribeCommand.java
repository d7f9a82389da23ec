package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.*;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `dsctl describe ds|node|pod NAME`: spec summary, counters, placement per node with reasons,
 * pods, recent events; for a pod, each container's state with its reason and message.
 */
@Command(name = "describe", description = "Show a DaemonSet, node or pod in detail, with reasons and recent events.")
public final class DescribeCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "TYPE", description = "ds, node or pod")
  String type;

  @Parameters(index = "1", paramLabel = "NAME")
  String name;

  @Option(names = {"-n", "--namespace"}, defaultValue = "default")
  String namespace;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    ObjectKind kind = Kinds.parse(type);
    if (kind == ObjectKind.POD) {
      return describePod(control);
    }
    if (kind != ObjectKind.DAEMON_SET && kind != ObjectKind.NODE) {
      throw new UsageException("describe takes ds, node or pod");
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
      o.printf("Name:               %s%nStatus:             %s%s%s%nAddresses:          %s%nAgent:              %s (%s/%s)%n",
          n.getInfo().getName(), n.getReady() ? "Ready" : "NotReady", n.getUnschedulable() ? ",SchedulingDisabled" : "",
          n.getNotReadyReason().isEmpty() ? "" : " (" + n.getNotReadyReason() + ")",
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
        t.row("  " + e.getType(), e.getReason(), Table.age(e.getAtMillis(), now), Table.oneLine(e.getMessage()));
      }
      t.print(o);
    }
    return 0;
  }

  private int describePod(ControlServiceGrpc.ControlServiceBlockingStub control) {
    GetResponse r = control.get(GetRequest.newBuilder().setKind(ObjectKind.POD).setNamespace(namespace).setName(name).build());
    if (r.getPodsCount() == 0) {
      throw new io.grpc.StatusRuntimeException(io.grpc.Status.NOT_FOUND.withDescription("pods \"" + name + "\" not found in namespace " + namespace));
    }
    PrintWriter o = out();
    long now = Dsctl.clock.millis();
    for (PodView p : r.getPodsList()) {
      PodStatus s = p.getStatus();
      o.printf("Name:         %s%nNamespace:    %s%nNode:         %s%nDaemonSet:    %s%nRevision:     %s (template %s)%n", s.getPodName(),
          s.getNamespace(), p.getNodeName(), s.getDaemonSet(), p.getRevision() == 0 ? "?" : p.getRevision(), s.getTemplateHash());
      o.printf("Created:      %s%nStatus:       %s%nReady:        %s%n", s.getCreatedAtMillis() == 0 ? "<unknown>"
          : time(s.getCreatedAtMillis()) + " (" + Table.age(s.getCreatedAtMillis(), now) + " ago)", GetCommand.podStatus(p), s.getReady());
      if (!s.getReason().isEmpty() || !s.getMessage().isEmpty()) {
        o.printf("Reason:       %s%nMessage:      %s%n", s.getReason().isEmpty() ? "-" : s.getReason(), Table.oneLine(s.getMessage()));
      }
      o.println("Containers:" + (s.getContainersCount() == 0 ? " <none>" : ""));
      for (ContainerStatus c : s.getContainersList()) {
        o.printf("  %s%s:%n    Image:          %s%n    Container ID:   %s%n    State:          %s%n", c.getName(), c.getInit() ? " (init)" : "",
            c.getImage(), c.getContainerId().isEmpty() ? "<none>" : c.getContainerId().substring(0, Math.min(12, c.getContainerId().length())),
            c.getState() + (c.getReason().isEmpty() ? "" : " (" + c.getReason() + ")"));
        if (!c.getMessage().isEmpty()) {
          o.printf("    Message:        %s%n", Table.oneLine(c.getMessage()));
        }
        if (c.getState().equals("terminated") || c.getFinishedAtMillis() != 0) {
          o.printf("    Last Exit Code: %d%n", c.getExitCode());
        }
        o.printf("    Ready:          %s%n    Restart Count:  %d%n", c.getReady(), c.getRestartCount());
      }
    }
    return 0;
  }

  static String time(long millis) {
    return Instant.ofEpochMilli(millis).toString();
  }
}
