package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.LongSupplier;

/**
 * What a get or a list asks of its answer's version (its resourceVersion and
 * resourceVersionMatch), as Kubernetes reads them: absent, "" and "0" any version (the
 * coordinator answers its newest); another version with NotOlderThan (a list's default) the newest
 * too, which is not older than any version this coordinator answered; Exact a list at exactly that
 * version, which the coordinator has only while the fleet has not moved past it (it keeps no
 * history: another version is 410 Expired, and clients list again). A parameter it cannot read is
 * refused naming it. Before 2026-12-06 both were not read, and an Exact list answered whatever the
 * fleet held, at another version.
 */
record ReadVersion(long exact) {
  private static final ReadVersion ANY = new ReadVersion(-1);

  /**
   * @param list whether the read is of a list (a get takes no resourceVersionMatch)
   * @throws KubeWrites.KubeError naming the parameter that is not Kubernetes' or not served
   */
  static ReadVersion of(String version, String match, boolean list) {
    String rv = version == null ? "" : version;
    if (!rv.isEmpty() && !rv.matches("[0-9]{1,18}")) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "resourceVersion: Invalid value: \"" + shown(rv) + "\": the dsfleet"
          + " coordinator's versions are numbers (a list's metadata.resourceVersion)");
    }
    if (match == null) {
      return ANY;
    }
    String invalid = "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: ";
    if (!list) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "resourceVersionMatch is served on lists only: a get answers its object as"
          + " it is now, not older than any resourceVersion");
    }
    if (rv.isEmpty()) {
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is"
          + " provided");
    }
    return switch (match) {
      case "NotOlderThan" -> ANY;
      case "Exact" -> {
        if (rv.equals("0")) {
          throw KubeWrites.KubeError.of(422, "Invalid", invalid + "Forbidden: resourceVersionMatch \"exact\" is forbidden for"
              + " resourceVersion \"0\"");
        }
        yield new ReadVersion(Long.parseLong(rv));
      }
      default -> throw KubeWrites.KubeError.of(422, "Invalid", invalid + "Unsupported value: \"" + shown(match) + "\": supported"
          + " values: \"Exact\", \"NotOlderThan\"");
    };
  }

  /**
   * Checks a list's answer against what was asked: an Exact version is the one the list was read
   * at, and the fleet's still after it was built (a list's version is read before its objects, so
   * a change meanwhile may be in it).
   *
   * @param now the fleet's version now
   * @throws KubeWrites.KubeError 410 Expired when the list is not exactly at the version asked
   */
  void check(ObjectNode answer, LongSupplier now) {
    if (exact < 0) {
      return;
    }
    long at = answer.path("metadata").path("resourceVersion").asLong(-1);
    if (at != exact || now.getAsLong() != exact) {
      throw KubeWrites.KubeError.of(410, "Expired", "too old resource version: " + exact + " (" + now.getAsLong() + "): the dsfleet"
          + " coordinator keeps no history, and answers resourceVersionMatch=Exact at the fleet's current version only; list"
          + " without it");
    }
  }

  private static String shown(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
