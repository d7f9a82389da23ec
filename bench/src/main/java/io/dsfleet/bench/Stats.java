package io.dsfleet.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Samples of one measurement, in milliseconds: median, percentiles, spread. */
final class Stats {
  private final List<Double> samples = new ArrayList<>();

  void add(double ms) {
    samples.add(ms);
  }

  int count() {
    return samples.size();
  }

  /** Nearest-rank percentile (p in 0..100). */
  double percentile(double p) {
    if (samples.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = new ArrayList<>(samples);
    Collections.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  double median() {
    return percentile(50);
  }

  double min() {
    return percentile(0);
  }

  double max() {
    return percentile(100);
  }

  /** "median (min-max)" in ms. */
  String summary() {
    return samples.isEmpty() ? "-" : "%.0f (%.0f-%.0f)".formatted(median(), min(), max());
  }
}
