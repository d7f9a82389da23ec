package io.dsfleet.common;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Kubernetes resource quantities ("100m", "1.5", "256Mi", "1e3", "2G"). */
public final class Quantities {
  private static final Pattern FORMAT =
      Pattern.compile("^([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$");

  private static final Map<String, BigDecimal> SUFFIX =
      Map.ofEntries(
          Map.entry("Ki", BigDecimal.valueOf(1L << 10)),
          Map.entry("Mi", BigDecimal.valueOf(1L << 20)),
          Map.entry("Gi", BigDecimal.valueOf(1L << 30)),
          Map.entry("Ti", BigDecimal.valueOf(1L << 40)),
          Map.entry("Pi", BigDecimal.valueOf(1L << 50)),
          Map.entry("Ei", BigDecimal.valueOf(1L << 60)),
          Map.entry("n", new BigDecimal("1e-9")),
          Map.entry("u", new BigDecimal("1e-6")),
          Map.entry("m", new BigDecimal("1e-3")),
          Map.entry("k", new BigDecimal("1e3")),
          Map.entry("M", new BigDecimal("1e6")),
          Map.entry("G", new BigDecimal("1e9")),
          Map.entry("T", new BigDecimal("1e12")),
          Map.entry("P", new BigDecimal("1e15")),
          Map.entry("E", new BigDecimal("1e18")));

  private Quantities() {}

  /**
   * The value of a quantity in base units.
   *
   * @throws IllegalArgumentException when the text is not a quantity
   */
  public static BigDecimal parse(String text) {
    Matcher m = FORMAT.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("quantities must match the regular expression "
          + "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    }
    BigDecimal number = new BigDecimal(m.group(1));
    String suffix = m.group(2);
    if (suffix == null) {
      return number;
    }
    BigDecimal unit = SUFFIX.get(suffix); // first: "E" and "Ei" are exa and exbi, not an exponent
    if (unit != null) {
      return number.multiply(unit);
    }
    int exponent = Integer.parseInt(suffix.substring(1));
    if (exponent < -MAX_EXPONENT || exponent > MAX_EXPONENT) { // not Math.abs: it is negative for Integer.MIN_VALUE
      throw new IllegalArgumentException("quantities must have an exponent between -" + MAX_EXPONENT + " and " + MAX_EXPONENT);
    }
    return number.scaleByPowerOfTen(exponent);
  }

  /**
   * The text Kubernetes' API server stores a quantity as (resource.Quantity's CanonicalizeBytes): the value rounded up
   * to a nano, in the format its suffix named (binary for Ki..Ei, an exponent for e/E, else decimal SI), a binary one
   * that is under 1024 or not whole shown decimal; the number whole, its exponent (a multiple of 3, or of 10 for
   * binary) as large as that allows: "0.5" is "500m", "1024Mi" "1Gi", "1000m" "1", "1.5Gi" "1536Mi", "1e3" "1e3".
   * Past the largest suffix (E, Ei) the number grows instead.
   *
   * @throws IllegalArgumentException when the text is not a quantity
   */
  public static String canonical(String text) {
    String t = text == null ? "" : text.trim();
    BigDecimal value = parse(t).setScale(9, RoundingMode.UP);
    if (value.signum() == 0) {
      return "0";
    }
    Matcher m = FORMAT.matcher(t);
    m.matches();
    String suffix = m.group(2) == null ? "" : m.group(2);
    boolean binary = suffix.endsWith("i");
    boolean exponent = !binary && !SUFFIX.containsKey(suffix) && !suffix.isEmpty();
    BigDecimal kibi = BigDecimal.valueOf(1024);
    if (binary && value.abs().compareTo(kibi) >= 0 && value.stripTrailingZeros().scale() <= 0) {
      java.math.BigInteger number = value.toBigIntegerExact();
      java.math.BigInteger k = java.math.BigInteger.valueOf(1024);
      int power = 0;
      while (power < BINARY.length - 1 && number.mod(k).signum() == 0) {
        number = number.divide(k);
        power++;
      }
      return number + BINARY[power];
    }
    BigDecimal stripped = value.stripTrailingZeros();
    java.math.BigInteger number = stripped.unscaledValue();
    int exp = -stripped.scale();
    int down = Math.floorMod(exp, 3); // a multiple of 3: the number takes the rest
    number = number.multiply(java.math.BigInteger.TEN.pow(down));
    exp -= down;
    if (exponent) {
      return number + (exp == 0 ? "" : "e" + exp);
    }
    if (exp > 18) {
      number = number.multiply(java.math.BigInteger.TEN.pow(exp - 18));
      exp = 18;
    }
    return number + DECIMAL[(exp + 9) / 3];
  }

  private static final String[] BINARY = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  private static final String[] DECIMAL = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};

  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** CPU in millicores, rounded up as Kubernetes does; past a long's range, its largest. */
  public static long cpuMillis(String text) {
    return saturated(parse(text).movePointRight(3));
  }

  /** Memory in bytes, rounded up; past a long's range, its largest. */
  public static long bytes(String text) {
    return saturated(parse(text));
  }

  /**
   * A quantity's exponent ("1e3") at most this far from 0: Kubernetes' own values fit in 64 bits
   * and 18 digits of fraction; a larger exponent only makes a number nobody meant.
   */
  static final int MAX_EXPONENT = 100;

  private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

  private static long saturated(BigDecimal value) {
    BigDecimal up = value.setScale(0, RoundingMode.CEILING);
    return up.compareTo(LONG_MAX) > 0 ? Long.MAX_VALUE : up.compareTo(LONG_MAX.negate()) < 0 ? -Long.MAX_VALUE : up.longValueExact();
  }
}
