package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.model.Container;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What each container's last inspect said, by id, and when: while an event stream runs, a list
 * that shows a container in the state, health and address it was inspected with does not
 * inspect it again for up to {@link #INSPECT_MAX_AGE}. Its own calls on the container (after each), its events,
 * and the event stream starting over or ending (events may have been missed) drop entries; labels
 * never change on a container.
 */
final class InspectCache {
  /**
   * Every container is inspected again at least this often, whatever the events said: the last
   * net for a change that neither an event nor the list (state, health, address) showed while the
   * stream ran (a stream that ends forgets every inspect). Ten relists (30 s each) apart, not one: with one, every
   * relist inspected every container (40 inspects a minute for 10 idle pods).
   */
  static final Duration INSPECT_MAX_AGE = Duration.ofMinutes(5);

  private final Map<String, Inspected> inspected = new ConcurrentHashMap<>();
  /** The monotonic clock inspects are aged on. */
  private final java.util.function.LongSupplier nanoTime;

  InspectCache() {
    this(System::nanoTime);
  }

  InspectCache(java.util.function.LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** Where an inspect begins: its time and the count of forgettings then, for {@link #remember}. */
  record Begun(long atNanos, long changesBefore) {}

  Begun begin() {
    return new Begun(nanoTime.getAsLong(), changes.get());
  }
  /** Event streams running: without one, nothing would say a container changed, so every list inspects. */
  private final AtomicInteger streams = new AtomicInteger();
  private record Inspected(ContainerInfo info, long atNanos) {}
  /** Counts every forgetting: an inspect is remembered only if none happened while it ran. */
  private final AtomicLong changes = new AtomicLong();

  /** The listed container as its last inspect said, when that still holds; else null (inspect it again). */
  ContainerInfo known(Container c) {
    Inspected known = inspected.get(c.getId());
    if (known != null && streams.get() > 0 && known.info().state().equals(c.getState())
        && Objects.equals(known.info().health(), DockerAnswers.listedHealth(c))
        && Objects.equals(known.info().ip(), DockerAnswers.listedIp(c))
        && nanoTime.getAsLong() - known.atNanos() < INSPECT_MAX_AGE.toNanos()) {
      return known.info();
    }
    return null;
  }

  /** Remembers an inspect {@link #begin begun} as {@code begun} said. */
  void remember(ContainerInfo info, Begun begun) {
    if (changes.get() == begun.changesBefore()) {
      // remembered only when no event or call of the agent's own said meanwhile that it changed:
      // an inspect answered before such an event would otherwise outlive it
      inspected.put(info.id(), new Inspected(info, begun.atNanos()));
    }
  }

  /** Forgets the containers not in {@code ids} (gone from a list of every container of the node). */
  void retain(Set<String> ids) {
    inspected.keySet().retainAll(ids);
  }

  /** Forgets a container's inspect: an event or the agent's own call says it changed. */
  void forget(String id) {
    changes.incrementAndGet();
    inspected.remove(id);
  }

  /** Forgets every inspect: what happened while no stream ran is not known. */
  void forgetAll() {
    changes.incrementAndGet();
    inspected.clear();
  }

  /** An event stream starts. */
  void streamStarted() {
    streams.incrementAndGet();
  }

  /** An event stream ended (or never started). */
  void streamEnded() {
    streams.decrementAndGet();
  }
}
