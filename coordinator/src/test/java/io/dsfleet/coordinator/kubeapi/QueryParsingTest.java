package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.coordinator.fleet.ControlException;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** kubectl's -l and --field-selector as the coordinator reads them, against Kubernetes' semantics. */
class QueryParsingTest {
  static final Map<String, String> SSD_EU = Map.of("disk", "ssd", "zone", "eu-1");

  @ParameterizedTest(name = "{0} on disk=ssd,zone=eu-1: {1}")
  @CsvSource(delimiter = '|', value = {
      "disk=ssd | true", "disk==ssd | true", "disk!=ssd | false", "disk!=hdd | true", "gpu!=yes | true (a missing key matches !=)",
      "disk in (ssd,nvme) | true", "disk notin (ssd) | false", "gpu notin (yes) | true (a missing key matches notin)",
      "disk in(ssd) | true (no space before the set)", "disk | true", "!disk | false", "!gpu | true",
      "'disk=ssd,zone in (eu-1, eu-2)' | true", "'disk=ssd,zone=us-1' | false", "'' | true (no term: everything)"})
  void selects(String selector, String expected) {
    assertThat(LabelSelectors.matches(SelectorQuery.parse(selector), SSD_EU)).isEqualTo(expected.startsWith("true"));
  }

  @ParameterizedTest(name = "{0} is refused")
  @CsvSource(delimiter = '|', value = {"disk=ssd=x | invalid label value", "disk in () | needs at least one value",
      "'disk in ssd' | unable to parse", "'bad key!=x' | invalid label key", "disk=a;b | invalid label value"})
  void refuses(String selector, String why) {
    assertThatThrownBy(() -> SelectorQuery.parse(selector)).isInstanceOf(ControlException.class).hasMessageContaining(why);
  }

  @ParameterizedTest(name = "--field-selector {0} on ops/agent: {1}")
  @CsvSource(delimiter = '|', value = {"metadata.name=agent | true", "metadata.name==agent | true", "metadata.name!=agent | false",
      "'metadata.name=agent,metadata.namespace=ops' | true", "metadata.namespace=default | false", "'' | true"})
  void fields(String selector, boolean expected) {
    assertThat(FieldQuery.parse(selector).matches("agent", "ops")).isEqualTo(expected);
  }

  @ParameterizedTest(name = "--field-selector {0} is refused")
  @CsvSource({"spec.restartPolicy=Always", "metadata.name"})
  void refusesFieldsItDoesNotServe(String selector) {
    assertThatThrownBy(() -> FieldQuery.parse(selector)).isInstanceOf(ControlException.class).hasMessageContaining("field");
  }

  @ParameterizedTest(name = "--field-selector {0} on a DaemonSet is refused")
  @CsvSource({"spec.nodeName=node-a", "reason=Started"})
  void refusesOnOneKindTheFieldsOfAnother(String selector) {
    FieldQuery query = FieldQuery.parse(selector);
    assertThatThrownBy(() -> query.matches("agent", "ops")).isInstanceOf(ControlException.class)
        .hasMessageContaining("field label not supported: " + selector.split("=")[0]);
  }
}
