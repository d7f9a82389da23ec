package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reconciler's side of evictions ({@link Evictions}): at its passes, emptyDir sizeLimits
 * measured and disk pressure checked when due, evicted pods held and, once none of their
 * containers runs, their volumes emptied and their starts put off. Out of {@link Reconciler}, which
 * hands it the pods' directory work (one at a time per pod, on the collector's thread) and its wake.
 */
final class VolumeLimits {
  private static final Logger log = LoggerFactory.getLogger(VolumeLimits.class);
  /** The collector's disk pressure check, among the {@code collecting} keys (no pod key, no container ID looks like it). */
  private static final String DISK_PRESSURE = "node/disk-pressure";

  /** A pod's directory work, run as the reconciler runs it (never two of one pod at once). */
  @FunctionalInterface
  interface DirectoryWork {
    void run(String pod, Runnable work);
  }

  private final Evictions evictions;
  private final PressureCheck pressure;
  private final Executor executor;
  private final Failures failures;
  private final ReconcilerThreads threads;
  private final Set<String> collecting;
  private final Clock clock;
  private final DirectoryWork directoryWork;
  private final Runnable wake;

  /** @param collecting the keys of the collector's work under way, the reconciler's (idle when empty) */
  VolumeLimits(Evictions evictions, PressureCheck pressure, Executor executor, Failures failures, ReconcilerThreads threads,
      Set<String> collecting, Clock clock, DirectoryWork directoryWork, Runnable wake) {
    this.evictions = evictions;
    this.pressure = pressure;
    this.executor = executor;
    this.failures = failures;
    this.threads = threads;
    this.collecting = collecting;
    this.clock = clock;
    this.directoryWork = directoryWork;
    this.wake = wake;
  }

  /**
   * emptyDir sizeLimits on disk ({@link Evictions}): every 10 s each pod's limited volumes are
   * measured, under the pod's own work on the collector's thread; an evicted pod's app containers
   * get a kill verdict and a wait (reason {@code Evicted}) before they start again, and once none
   * runs its volumes over their limit are emptied. Only once a desired set is known (the sources
   * ready): until then no pod is known to forget. A held pod ({@link HeldPods}: its containers not in {@code owned}) keeps
   * its eviction, if any, and is neither measured, evicted nor emptied while it is held.
   */
  void enforce(Map<String, DesiredPod> desired, List<OwnedContainer> owned, Instant now, java.util.Set<String> held) {
    evictions.retain(desired.keySet());
    Map<String, DesiredPod> want = HeldPods.without(desired, held);
    for (DesiredPod d : want.values()) { // a hold left by a template change racing the emptying ends with the eviction
      if (d.valid() && evictions.why(d.key()) == null) {
        for (String c : containerNames(d)) {
          String key = Failures.key(d.key(), c);
          // a hold, not the back-off its eviction's end left (startAgainAt)
          if (failures.get(key).filter(f -> f.reason().equals("Evicted") && f.retryAt().equals(Instant.MAX)).isPresent()) {
            failures.forget(key);
          }
        }
      }
    }
    if (evictions.checkDue(now)) {
      for (DesiredPod d : want.values()) {
        if (d.ctx() != null && !Volumes.limitedDiskVolumes(d.ctx()).isEmpty()) {
          directoryWork.run(d.key(), () -> {
            if (evictions.measure(d, now)) {
              holdEvicted(d);
            }
          });
        }
      }
      if (collecting.add(DISK_PRESSURE)) {
        Collection<DesiredPod> pods = want.values();
        threads.pressure().execute(() -> {
          try {
            pressure.run(pods, owned, now).ifPresent(h ->
                directoryWork.run(h.pod().key(), () -> {
                  if (evictions.evictForPressure(h)) {
                    holdEvicted(h.pod());
                  }
                }));
          } catch (IOException | RuntimeException e) { // no pods directory yet: no pod's volume to free
            log.debug("disk pressure not checked: {}", e.toString());
          } finally {
            collecting.remove(DISK_PRESSURE);
          }
        });
      }
    }
    for (DesiredPod d : want.values()) {
      if (evictions.stopped(d.key(), owned, now)) {
        // and its sandbox, running: the /etc/hosts, /etc/resolv.conf and /etc/hostname its containers write are the
        // sandbox's files (the kubelet kills an evicted pod's sandbox too); the pod starts again in a new one
        List<OwnedContainer> stopped = owned.stream().filter(c -> c.podKey().equals(d.key()) && (!c.running() || c.isSandbox())).toList();
        directoryWork.run(d.key(), () -> {
          try {
            // their writable layers hold the disk too: the pod starts again as a new one, once they are gone; a
            // removal that failed is tried again after its back-off, as the collector's, not at every pass
            if (evictions.pressured(d.key()) && (stopped.stream().anyMatch(c -> failures.get("gc/" + c.id()).map(f -> f.active(now)).orElse(false))
                || !stopped.stream().allMatch(c -> executor.remove(c, c.running())))) {
              return;
            }
            String why = evictions.why(d.key());
            evictions.empty(d, now, failures.backoff());
            Instant again = evictions.startAgainAt(d.key());
            for (String c : containerNames(d)) {
              if (again.isAfter(now)) {
                failures.holdUntil(Failures.key(d.key(), c), "Evicted", why + "; evicted again and again, it starts again at " + again
                    + " (back-off)", now, again);
              } else {
                failures.forget(Failures.key(d.key(), c));
              }
            }
          } catch (IOException | RuntimeException e) {
            log.warn("pod {}: emptying its evicted volumes: {}; tried again in a minute", d.key(), e.toString());
          }
          wake.run();
        });
      }
    }
  }

  /**
   * The evictions the agent before this one left under way, and the back-offs after them, held
   * again for the pods of the first desired set ({@link EvictionRecord}), before any pass plans
   * them: an eviction's pod starts once its volumes are emptied, a back-off's once it ends.
   */
  void restore(Map<String, DesiredPod> want, Instant now) {
    for (String key : evictions.takeRestored()) {
      DesiredPod d = want.get(key);
      if (d == null || !d.valid()) {
        continue;
      }
      if (evictions.why(key) != null) {
        holdEvicted(d);
      } else {
        evictions.backOff(key, now).ifPresent(s -> containerNames(d).forEach(c -> failures.holdUntil(Failures.key(key, c), "Evicted",
            s.why() + "; evicted again and again, it starts again at " + s.until() + " (back-off)", s.at(), s.until())));
      }
    }
  }

  /** An evicted pod: none of its containers starts until its volumes are emptied; a pass stops those that run. */
  private void holdEvicted(DesiredPod d) {
    containerNames(d).forEach(c -> failures.hold(Failures.key(d.key(), c), "Evicted", evictions.why(d.key()), clock.instant()));
    wake.run();
  }

  /** The pod's init and app containers' names. */
  static List<String> containerNames(DesiredPod d) {
    var spec = d.template().spec();
    return java.util.stream.Stream.concat(spec.initContainers() == null ? java.util.stream.Stream.empty() : spec.initContainers().stream(),
        spec.containers().stream()).map(io.dsfleet.common.model.Container::name).toList();
  }
}
