package io.dsfleet.coordinator.cli;

import io.dsfleet.common.Durations;
import java.time.Duration;
import picocli.CommandLine;

/**
 * A time limit as dsctl's flags take it: seconds ({@code 30}) as before, or a duration as kubectl
 * takes it ({@code 90s}, {@code 5m}, {@code 1h30m}, {@code 500ms}); 0 means no limit, as in kubectl.
 */
final class Timeouts implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    String v = value.trim();
    try {
      Duration limit = v.matches("\\d+") ? Duration.ofSeconds(Long.parseLong(v)) : Durations.parse(v);
      limit.toMillis(); // a limit past what a deadline can hold is refused here, not when the call is made
      return limit;
    } catch (IllegalArgumentException | ArithmeticException | java.time.DateTimeException e) {
      throw new CommandLine.TypeConversionException("'" + value + "' is not a time limit: give seconds (30) or a duration (90s, 5m, 1h30m); 0 for none");
    }
  }

  /** The limit as people read it: "30s", "5m", or "no limit". */
  static String describe(Duration limit) {
    return limit.isZero() ? "no limit" : Durations.format(limit);
  }
}
