package io.dsfleet.coordinator.fleet;

import java.util.List;

/**
 * A desired set's digest ({@code DesiredState.digest}): what the coordinator decided the set from
 * (the fingerprint {@link Dispatcher#push} compares before it encodes anything: each pod with its
 * template's hash and whether it goes by name alone, the resourceVersions of the configs it
 * carries, the released pods), with the store's identity and the coordinator's build, which
 * together fix every byte of the set but its version and revision numbers. Built from the
 * fingerprint, not the encoded set, so a node's digest costs a few hundred bytes of hashing
 * whatever its templates and configs weigh. An agent names the digest of the set it holds when
 * its session opens; a coordinator that would send it a set of that digest sends nothing: the
 * agent acts on that set already (a restarted coordinator's 10,000 returning agents were each
 * sent their whole set again).
 *
 * <p>The build is in it because another build may encode the same decision otherwise (a field
 * added to a pod): after an upgrade every node is sent its set once more. A build from a tree
 * with changes names its commit with "-dirty" and is not told from another such build.
 */
public final class SetDigest {
  private SetDigest() {}

  /** Bumped by hand when a set's encoding changes in a way the build's name would not show (none yet). */
  static final int FORMAT = 1;

  /** The longest digest an agent may name: a SHA-256 in hex; anything else is taken as none. */
  public static final int LENGTH = 64;

  /** @param fingerprint as {@link Dispatcher#push} builds it: strings, resourceVersions (numbers) and lists of strings */
  static String of(String build, String storeId, List<Object> fingerprint) {
    StringBuilder b = new StringBuilder(64 + 48 * fingerprint.size()).append("dsfleet-set ").append(FORMAT)
        .append('\n').append(build).append('\n').append(storeId).append('\n');
    for (Object o : fingerprint) {
      if (o instanceof List<?> list) {
        b.append("list ").append(list.size()).append('\n');
        list.forEach(e -> b.append(e).append('\n'));
      } else {
        b.append(o instanceof Number ? "rv " : "pod ").append(o).append('\n');
      }
    }
    return io.dsfleet.common.Sha256.hex(b.toString());
  }
}
