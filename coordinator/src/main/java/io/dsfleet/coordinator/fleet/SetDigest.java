package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.BuildIdentity;
import io.dsfleet.common.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipFile;

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
 * added to a pod): after an upgrade every node is sent its set once more. A build whose name does
 * not tell it from others is named by its jar's contents too ({@link #build}).
 */
public final class SetDigest {
  private SetDigest() {}

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SetDigest.class);

  /** This coordinator's build as every set's digest names it ({@link #build}): from the jar its classes were loaded from, once. */
  static final String BUILD = build(BuildIdentity.of(SetDigest.class), codeSource());

  /**
   * A build as a set's digest names it: its Implementation-Version ({@link BuildIdentity}); where that does not tell it
   * from other builds, with the names and CRCs of the entries of its {@code jar} too: one built without {@code .git} or
   * without git ("+unknown": from a source tarball, in a build image without git; every such build is
   * "0.1.0-SNAPSHOT+unknown"), or from a tree with changes ("-dirty"). Before, two such builds were one: a coordinator
   * upgraded from one to another that encodes a set otherwise sent nothing to the agents holding their sets, which went
   * on with the older encoding until their sets changed. Classes outside a jar (the tests): the version alone, "dev".
   */
  static String build(BuildIdentity b, Path jar) {
    boolean named = !b.commit().equals(BuildIdentity.UNKNOWN) && !b.commit().endsWith("-dirty");
    if (named || jar == null || !Files.isRegularFile(jar)) {
      return b.full();
    }
    java.security.MessageDigest entries = Sha256.digest(); // 28,000 entries in the coordinator's jar: 10-130 ms at its start
    try (ZipFile z = new ZipFile(jar.toFile())) {
      z.stream().forEach(e -> entries.update((e.getName() + ' ' + e.getCrc() + '\n').getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (IOException e) {
      log.warn("cannot read this coordinator's jar {} ({}): its sets' digests name its build {} alone, which other builds share"
          + " (an agent holding a set of one of them is not sent it again)", jar, e.toString(), b.full());
      return b.full();
    }
    return b.full() + " " + java.util.HexFormat.of().formatHex(entries.digest());
  }

  /** Where this class was loaded from (a jar, or a build's classes directory); null when the JVM does not say. */
  private static Path codeSource() {
    try {
      java.security.CodeSource s = SetDigest.class.getProtectionDomain().getCodeSource();
      return s == null ? null : Path.of(s.getLocation().toURI());
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /** The longest digest an agent may name: a SHA-256 in hex; anything else is taken as none. */
  public static final int LENGTH = 64;

  /** @param fingerprint as {@link Dispatcher#push} builds it: strings, resourceVersions (numbers) and lists of strings */
  static String of(String build, String storeId, List<Object> fingerprint) {
    StringBuilder b = new StringBuilder(64 + 48 * fingerprint.size()).append("dsfleet-set\n").append(build).append('\n')
        .append(storeId).append('\n');
    for (Object o : fingerprint) {
      if (o instanceof List<?> list) {
        b.append("list ").append(list.size()).append('\n');
        list.forEach(e -> b.append(e).append('\n'));
      } else {
        b.append(o instanceof Number ? "rv " : "pod ").append(o).append('\n');
      }
    }
    return Sha256.hex(b.toString());
  }
}
