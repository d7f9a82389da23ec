package io.dsfleet.common.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Objects;

/** Kubernetes IntOrString: a number, or a string such as "10%" or a port name. */
public record IntOrString(Integer intValue, String strValue) {
  public IntOrString {
    if ((intValue == null) == (strValue == null)) {
      throw new IllegalArgumentException("exactly one of intValue and strValue");
    }
  }

  public static IntOrString of(int value) {
    return new IntOrString(value, null);
  }

  public static IntOrString of(String value) {
    return new IntOrString(null, value);
  }

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static IntOrString fromJson(Object raw) {
    if (raw instanceof Number n) {
      return of(n.intValue());
    }
    return of(Objects.toString(raw));
  }

  @JsonValue
  public Object json() {
    return intValue != null ? intValue : strValue;
  }

  public boolean isPercent() {
    return strValue != null && strValue.endsWith("%");
  }

  /**
   * The absolute value against {@code total}: a percentage is scaled and rounded up or down as
   * Kubernetes' GetScaledValueFromIntOrPercent does.
   *
   * @throws IllegalArgumentException for a string that is neither a percentage nor a number
   */
  public int scaled(int total, boolean roundUp) {
    if (intValue != null) {
      return intValue;
    }
    if (!isPercent()) {
      throw new IllegalArgumentException("invalid value for IntOrString: " + strValue);
    }
    int percent = Integer.parseInt(strValue.substring(0, strValue.length() - 1));
    long product = (long) percent * total;
    return (int) (roundUp ? (product + 99) / 100 : product / 100);
  }

  @Override
  public String toString() {
    return String.valueOf(json());
  }
}
