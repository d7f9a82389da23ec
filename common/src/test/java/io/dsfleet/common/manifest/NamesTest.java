package io.dsfleet.common.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The RFC 1123 checks written as loops ({@link Names#isDns1123}) hold to the expressions apimachinery writes them as. */
class NamesTest {
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** Every string of up to six characters over letters, digits, '-', '.', an upper-case letter and '_' (299,593 of them). */
  @Test
  void theLoopsAgreeWithTheExpressionsOnEveryShortString() {
    char[] alphabet = {'a', 'z', '0', '9', '-', '.', 'A', '_'};
    int checked = 0;
    for (int length = 0; length <= 6; length++) {
      char[] chars = new char[length];
      for (long k = 0, total = (long) Math.pow(alphabet.length, length); k < total; k++) {
        long rest = k;
        for (int i = 0; i < length; i++) {
          chars[i] = alphabet[(int) (rest % alphabet.length)];
          rest /= alphabet.length;
        }
        String s = new String(chars);
        assertEquals(LABEL.matcher(s).matches(), Names.isDns1123(s, false), "label " + s);
        assertEquals(SUBDOMAIN.matcher(s).matches(), Names.isDns1123(s, true), "subdomain " + s);
        checked++;
      }
    }
    assertEquals(299_593, checked);
  }

  @Test
  void namesAndTheirErrors() {
    assertEquals(null, Names.dns1123Subdomain("fluentd-elasticsearch.kube-system"));
    assertEquals(null, Names.dns1123Label("agent-0"));
    assertEquals("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        + "and must start and end with an alphanumeric character", Names.dns1123Label("a.b"));
    assertEquals("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end"
        + " with an alphanumeric character (an unexpanded ${...} placeholder?)", Names.dns1123Subdomain("x-${NODE}"));
    assertEquals("must be no more than 63 characters", Names.dns1123Label("a".repeat(64)));
  }
}
