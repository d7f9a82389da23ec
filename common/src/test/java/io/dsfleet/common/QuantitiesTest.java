package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class QuantitiesTest {
  @Test
  void exaAndExbiAreSuffixesAndAnEOrEWithDigitsAnExponent() {
    assertThat(Quantities.parse("1E")).isEqualByComparingTo(new BigDecimal("1e18"));
    assertThat(Quantities.parse("1Ei")).isEqualByComparingTo(BigDecimal.valueOf(1L << 60));
    assertThat(Quantities.parse("1E3")).isEqualByComparingTo("1000");
    assertThat(Quantities.parse("1e-3")).isEqualByComparingTo("0.001");
    assertThat(Quantities.cpuMillis("500m")).isEqualTo(500);
    assertThat(Quantities.bytes("1Mi")).isEqualTo(1L << 20);
  }

  /** A number past a long is the largest long (a limit of no use), never an exception at every agent, nor a wrap. */
  @Test
  void valuesPastALongSaturate() {
    assertThat(Quantities.bytes("1e30")).isEqualTo(Long.MAX_VALUE);
    assertThat(Quantities.cpuMillis("1e17")).as("1e20 millicores").isEqualTo(Long.MAX_VALUE);
    assertThat(Quantities.bytes("-1e30")).isEqualTo(-Long.MAX_VALUE);
  }

  /** 1e999999999 parses in a moment but would take the JVM's memory to write out at every agent. */
  @Test
  void anExponentFarFromZeroIsRefused() {
    assertThatThrownBy(() -> Quantities.parse("1e999999999")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exponent");
    assertThatThrownBy(() -> Quantities.parse("1e-101")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Quantities.parse("1e-2147483648")).as("whose absolute value is no int").isInstanceOf(IllegalArgumentException.class);
    assertThat(Quantities.parse("1e100")).isEqualByComparingTo("1e100");
  }
}
