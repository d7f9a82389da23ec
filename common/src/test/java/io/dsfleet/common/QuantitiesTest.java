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

  /** As Kubernetes' API server stores each (resource.Quantity's String after ParseQuantity), a spelling to its form. */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0} is stored as {1}")
  @org.junit.jupiter.params.provider.CsvSource({
      "0.5, 500m", "500m, 500m", "1, 1", "1000m, 1", "1.0, 1", "0, 0", "0Mi, 0", "1500, 1500", "2000, 2k", "1.5k, 1500",
      "1G, 1G", "1000M, 1G", "0.1, 100m", "1n, 1n", "0.0000000001, 1n", "1.0000000001, 1000000001n",
      "1Gi, 1Gi", "1024Mi, 1Gi", "1.5Gi, 1536Mi", "1536Mi, 1536Mi", "1Ki, 1Ki", "512Ki, 512Ki", "0.5Ki, 512", "1023.5Ki, 1048064",
      "1073741824, 1073741824", "1e3, 1e3", "1E3, 1e3", "1000e0, 1e3", "5e-1, 500e-3", "1k, 1k", "12E, 12E", "2Ei, 2Ei", "1e21, 1e21"})
  void aQuantityIsCanonicalAsKubernetesStoresIt(String given, String stored) {
    assertThat(Quantities.canonical(given)).isEqualTo(stored);
  }
}
