package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.Event;
import io.dsfleet.proto.v1.EventView;
import io.dsfleet.proto.v1.EventsRequest;
import java.util.Iterator;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `dsctl events [-w] [--for ds/NAME|node/NAME]`, as kubectl events: the fleet's events oldest
 * first (rollout steps, nodes joining, leaving and going NotReady, pods failing with their
 * reasons), kept across coordinator restarts, a bounded number per object; with -w, then each new
 * one as it happens, until interrupted.
 */
@Command(name = "events", description = "List the fleet's events (rollouts, nodes, pod failures); -w follows new ones.")
public final class EventsCommand extends ClientCommand {
  @Option(names = "--for", paramLabel = "ds/NAME|node/NAME", description = "Only this object's events.")
  String object = "";

  @Option(names = {"-n", "--namespace"}, defaultValue = "default", description = "Namespace of the DaemonSets (default ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = {"-A", "--all-namespaces"}, description = "DaemonSets of every namespace.")
  boolean all;

  @Option(names = {"-w", "--watch"}, description = "After the events kept, print each new one until interrupted.")
  boolean watch;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
    // a watch has no deadline: it runs until interrupted
    var stub = watch ? ControlServiceGrpc.newBlockingStub(channel()) : control;
    Iterator<EventView> events = stub.events(EventsRequest.newBuilder().setObject(object).setNamespace(namespace)
        .setAllNamespaces(all).setWatch(watch).build());
    long now = Dsctl.clock.millis();
    boolean any = false;
    List<Integer> widths = List.of(8, 8, 26, 34);
    print(widths, "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE");
    while (events.hasNext()) {
      EventView v = events.next();
      Event e = v.getEvent();
      print(widths, Table.age(e.getAtMillis(), watch ? Dsctl.clock.millis() : now), e.getType(), e.getReason(), object(v.getObject()),
          Table.oneLine(e.getMessage()));
      any = true;
    }
    if (!any) {
      err().println("No events found");
    }
    return 0;
  }

  /** Fixed columns, so a watch's lines line up with the header printed before them. */
  private void print(List<Integer> widths, String... cells) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      b.append(cells[i]);
      if (i < widths.size()) {
        b.append(" ".repeat(Math.max(1, widths.get(i) + 2 - cells[i].length())));
      }
    }
    out().println(b.toString().stripTrailing());
    out().flush();
  }

  /** "ds/NAMESPACE/NAME" as kubectl names objects: daemonset/NAME (the namespace shows with -A). */
  private String object(String key) {
    if (key.startsWith("ds/")) {
      String[] parts = key.split("/", 3);
      return "daemonset/" + (all ? parts[1] + "/" : "") + parts[2];
    }
    return key;
  }
}
