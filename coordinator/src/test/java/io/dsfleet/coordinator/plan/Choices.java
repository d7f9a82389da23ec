package io.dsfleet.coordinator.plan;

import java.util.List;
import java.util.Random;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * A {@link Random} that draws from a generated list of choices, so that a property written
 * against {@code Random} gets QuickTheories' shrinking: a shorter list, or smaller numbers in it,
 * is a simpler case (fewer nodes, no failures, the first of every pick). Past the end of the list
 * it continues from a fixed seed, so every case stays deterministic and replayable.
 */
final class Choices extends Random {
  private final List<Integer> choices;
  private final Random tail;
  private int at;

  Choices(List<Integer> choices) {
    super(0);
    this.choices = choices;
    this.tail = new Random(choices.size());
  }

  /** Cases of at most {@code max} choices (QuickTheories names the seed of a failing one; -DQT_SEED=N replays it). */
  static Gen<Choices> upTo(int max) {
    return SourceDSL.lists().of(SourceDSL.integers().all()).ofSizeBetween(0, max).map(Choices::new)
        .describedAs(c -> c.toString());
  }

  @Override
  protected int next(int bits) {
    if (choices == null) { // Random's constructor, before ours ran
      return super.next(bits);
    }
    int v = at < choices.size() ? choices.get(at++) : tail.nextInt();
    // the low bits: a choice shrunk towards 0 draws 0, false, the first of a pick
    return bits == 32 ? v : Math.abs(v % (1 << bits));
  }

  @Override
  public String toString() {
    return "choices" + choices;
  }
}
