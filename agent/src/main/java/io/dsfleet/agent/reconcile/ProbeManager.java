package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.Probe;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the startup, liveness and readiness probes of every running app container on the probe
 * workers, each when it is due (initial delay, then its period), never two at once for the same
 * probe nor more than a share of them for one pod, and turns their results into {@link
 * ProbeVerdict}s. The startup probe gates the others; a container run is forgotten when it is gone.
 */
public final class ProbeManager {
  private static final Logger log = LoggerFactory.getLogger(ProbeManager.class);
  private final Prober prober;
  private final ExecutorService workers;
  private final java.time.Clock clock;
  /** Probe states by container id, then by kind (startup, liveness, readiness). */
  private final Map<String, Map<String, ProbeState>> states = new ConcurrentHashMap<>();
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  /** Probes under way by pod key, each pod's at most {@code maxPerPod}. */
  private final Map<String, Integer> underWay = new ConcurrentHashMap<>();
  private final int maxPerPod;
  /**
   * Where a host-network pod's probes go: the node's address, its pod IP as the kubelet probes it
   * (a server listening on {@code $(POD_IP)} alone answers there), where that address is this
   * host's own; else (an address that is not on one of the host's interfaces, a NAT's) the
   * loopback, so no probe leaves the host. Until 2026-12-08 always the loopback, where such a server
   * does not answer (helper-202).
   */
  private final String hostNetworkAddress;

  /**
   * @param maxPerPod the most probes of one pod under way at once: a pod's containers decide how
   *     long their exec probes take, up to the timeouts its manifest sets, and without a bound one
   *     pod's probes held every probe thread while no other pod's probe ran
   */
  public ProbeManager(ContainerRuntime runtime, ExecutorService workers, int maxPerPod, java.time.Clock clock, String hostIp) {
    this.prober = new Prober(runtime);
    this.workers = workers;
    this.maxPerPod = maxPerPod;
    this.clock = clock;
    this.hostNetworkAddress = ownAddress(hostIp) ? hostIp : "127.0.0.1";
  }

  /** Whether {@code ip}, an address written as one, is on one of this host's interfaces. */
  static boolean ownAddress(String ip) {
    if (ip == null || !ip.matches("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")) {
      return false; // a name would be looked up: none is taken
    }
    try {
      java.net.InetAddress a = java.net.InetAddress.getByName(ip);
      return !a.isAnyLocalAddress() && java.net.NetworkInterface.getByInetAddress(a) != null;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /**
   * Starts the probes that are due, and forgets containers that are gone.
   *
   * @param listed containers not in {@code owned} whose probes' state is kept, unprobed meanwhile: a held pod's
   *     ({@link HeldPods}); before 2026-12-06 a hold of one list started its pod's probes over, the pod ready since its
   *     end and not ready until its readiness probe answered again
   */
  public void sync(Map<String, DesiredPod> desired, List<OwnedContainer> owned, Set<String> listed, Instant now) {
    Set<String> ids = owned.stream().map(OwnedContainer::id).collect(Collectors.toSet());
    states.keySet().removeIf(id -> !ids.contains(id) && !listed.contains(id));
    Map<String, List<OwnedContainer>> byPod = owned.stream().collect(Collectors.groupingBy(OwnedContainer::podKey));
    for (DesiredPod d : desired.values()) {
      if (!d.valid()) {
        continue;
      }
      List<OwnedContainer> pod = byPod.getOrDefault(d.key(), List.of());
      for (OwnedContainer c : pod) {
        if (!c.running() || !Labels.APP.equals(c.role()) || c.info().startedAt() == null || !d.runs(c)) {
          continue;
        }
        Container spec = d.template().spec().containers().stream().filter(x -> x.name().equals(c.container())).findFirst().orElse(null);
        if (spec == null) {
          continue;
        }
        Map<String, ProbeState> probes = states.computeIfAbsent(c.id(), id -> {
          Map<String, ProbeState> m = new HashMap<>();
          add(m, "startup", spec.startupProbe(), c.info().startedAt());
          add(m, "liveness", spec.livenessProbe(), c.info().startedAt());
          add(m, "readiness", spec.readinessProbe(), c.info().startedAt());
          return m;
        });
        ProbeState startup = probes.get("startup");
        boolean started = startup == null || startup.succeeded();
        // containers join the sandbox's network namespace, so the pod's address is the sandbox's (a container alone: its own);
        // off the host's network an address not known yet is no probe this time, never the host's loopback
        String host = Boolean.TRUE.equals(d.template().spec().hostNetwork()) ? hostNetworkAddress : podIp(pod, c);
        if (host == null) {
          continue;
        }
        for (var s : probes.entrySet()) {
          boolean gated = !s.getKey().equals("startup") && !started;
          // a liveness probe that failed is held until the container runs again (a new id, new states), as the kubelet's prober
          // holds it: its kill stands through the stop. Until 2026-12-08 it ran on, and one success during the preStop hook or
          // the grace took the kill back, the pod reported Terminating through its restart, as if deleted
          boolean done = s.getKey().equals("startup") && (started || startup.failed()) || s.getKey().equals("liveness") && s.getValue().failed();
          if (gated || done || !s.getValue().due(now)) {
            continue;
          }
          String key = c.id() + "/" + s.getKey();
          if (!take(d.key())) {
            break; // the pod's share is under way: its other probes run at a later pass, as a refused one does
          }
          if (!inFlight.add(key)) {
            give(d.key());
            continue;
          }
          Runnable run = () -> {
            try {
              Prober.Result r = prober.run(s.getValue().probe(), spec, c.id(), host);
              if (r.ran()) { // one the runtime could not run says nothing of the container (Prober.Result)
                s.getValue().record(r.ok(), r.message(), clock.instant());
              }
              io.dsfleet.agent.metrics.AgentCounters.PROBES.labelValues(s.getKey(), !r.ran() ? "error" : r.ok() ? "success" : "failure").inc();
              if (!r.ok()) {
                log.debug("{} probe of {} failed: {}", s.getKey(), c.info().name(), r.message());
              }
            } finally {
              inFlight.remove(key);
              give(d.key());
            }
          };
          try {
            workers.execute(run);
            s.getValue().started(now); // (the run records its result later; a refused one is due again at the next pass)
          } catch (java.util.concurrent.RejectedExecutionException full) {
            inFlight.remove(key); // every probe thread busy (probes that hang until their timeouts): this one runs a pass later
            give(d.key());
          }
        }
      }
    }
  }

  /** A place for one more probe of the pod, if its share has one. */
  private boolean take(String pod) {
    boolean[] taken = {false};
    underWay.compute(pod, (k, n) -> {
      int now = n == null ? 0 : n;
      taken[0] = now < maxPerPod;
      return taken[0] ? now + 1 : n;
    });
    return taken[0];
  }

  private void give(String pod) {
    underWay.computeIfPresent(pod, (k, n) -> n > 1 ? n - 1 : null);
  }

  /** Whether any container has probes (they run on the passes' clock). */
  public boolean any() {
    return states.values().stream().anyMatch(probes -> !probes.isEmpty());
  }

  /** The verdicts of every container run known here, by container id. */
  public Map<String, ProbeVerdict> verdicts() {
    Map<String, ProbeVerdict> out = new HashMap<>();
    states.forEach((id, probes) -> out.put(id, verdict(probes)));
    return out;
  }

  static ProbeVerdict verdict(Map<String, ProbeState> probes) {
    ProbeState startup = probes.get("startup");
    ProbeState liveness = probes.get("liveness");
    ProbeState readiness = probes.get("readiness");
    boolean started = startup == null || startup.succeeded();
    String kill = null;
    if (startup != null && startup.failed()) {
      kill = "startup probe failed: " + startup.lastMessage();
    } else if (started && liveness != null && liveness.failed()) {
      kill = "liveness probe failed: " + liveness.lastMessage();
    }
    Boolean ready = readiness == null ? null : started && readiness.succeeded();
    return new ProbeVerdict(started, ready, Boolean.TRUE.equals(ready) ? readiness.since() : null, kill);
  }

  /** The pod's address off the host's network: its sandbox's, or the container's own when it runs alone; null when not known. */
  private static String podIp(List<OwnedContainer> pod, OwnedContainer c) {
    return pod.stream().filter(x -> x.isSandbox() && x.attempt() == c.attempt() && x.info().ip() != null && !x.info().ip().isEmpty())
        .map(x -> x.info().ip()).findFirst().orElse(c.info().ip() != null && !c.info().ip().isEmpty() ? c.info().ip() : null);
  }

  private static void add(Map<String, ProbeState> m, String kind, Probe p, Instant started) {
    if (p != null) {
      m.put(kind, new ProbeState(p, started));
    }
  }
}
