package io.dsfleet.coordinator.plan;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Pod names: "{DaemonSet}-{10 characters}", the characters drawn from Kubernetes' generated-name
 * alphabet (no vowels, no look-alike digits) by a SHA-256 of the DaemonSet, the node and a salt.
 * 27^10 (about 2^47) names per DaemonSet: two nodes of a 20,000-node fleet share a first choice
 * with a probability of about 1 in 700,000, and the fleet's {@link Namer} takes the next salt
 * then, so names are unique. A DaemonSet name longer than 52 characters is cut, as Kubernetes
 * cuts a generateName base, so a pod name fits a hostname.
 */
public final class PodNames {
  private static final String ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
  private static final int SUFFIX = 10;
  private static final int MAX_BASE = 63 - SUFFIX - 1;

  private PodNames() {}

  /** Names the pod of a DaemonSet on a node; a deleted pod's replacement and a collision take another name. */
  @FunctionalInterface
  public interface Namer {
    /**
     * @param taken names the pod must not have (pods of this DaemonSet deleted on this node and still going)
     */
    String name(DsInfo ds, String node, java.util.function.Predicate<String> taken);
  }

  /** The first choice, with no fleet to look at: for pure tests and tools. */
  public static final Namer FIRST = (ds, node, taken) -> {
    for (int salt = 0; ; salt++) {
      String n = name(ds.name(), node, salt);
      if (!taken.test(n)) {
        return n;
      }
    }
  };

  /**
   * The most salts {@link #isNameOf} tries: a (DaemonSet, node) takes another salt only for a name
   * held by a deleted pod still going or by another node's pod, so a live pod's salt stays small.
   */
  static final int MAX_SALT = 64;

  /**
   * Whether {@code podName} is a name this scheme gives a pod of {@code dsName} on {@code nodeName}
   * (a surge's second name included), or the name coordinators gave it before this scheme
   * ({@link #legacyName}): what a node reports about its pods names itself only. A name of another
   * shape is refused before anything is hashed.
   */
  public static boolean isNameOf(String podName, String dsName, String nodeName) {
    String base = podName.endsWith(SURGE) ? podName.substring(0, podName.length() - SURGE.length()) : podName;
    if (base.length() == dsName.length() + 1 + LEGACY_SUFFIX && base.equals(legacyName(dsName, nodeName))) {
      return true; // the length first: every report's names pass here, and few are legacy ones
    }
    String prefix = (dsName.length() > MAX_BASE ? dsName.substring(0, MAX_BASE) : dsName) + "-";
    if (base.length() != prefix.length() + SUFFIX || !base.startsWith(prefix)) {
      return false;
    }
    for (int salt = 0; salt < MAX_SALT; salt++) {
      if (name(dsName, nodeName, salt).equals(base)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether pod names of {@code dsName} keep only the first {@value #MAX_BASE} characters of it:
   * then another DaemonSet's name can share that start, and a name made for it could be searched
   * for (by hashing) until it equals another node's pod's: the DaemonSet must exist.
   */
  public static boolean truncates(String dsName) {
    return dsName.length() > MAX_BASE;
  }

  /**
   * The name coordinators before 2026-11-30 gave the pod of a DaemonSet on a node: "{DaemonSet}-{5
   * hex digits of the node name's CRC-32}". A pod keeps its name through rolling updates that do
   * not surge and OnDelete, so an upgraded fleet may still run pods so named.
   */
  public static String legacyName(String dsName, String nodeName) {
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(nodeName.getBytes(StandardCharsets.UTF_8));
    return dsName + "-" + String.format("%0" + LEGACY_SUFFIX + "x", crc.getValue() & 0xFFFFF);
  }

  /** The hex digits {@link #legacyName} ends with. */
  private static final int LEGACY_SUFFIX = 5;

  /** What a surge's second pod name adds to the first (Planner.surgeName). */
  public static final String SURGE = "-s";

  public static String name(String dsName, String nodeName, int salt) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] h = sha.digest((dsName + "\n" + nodeName + "\n" + salt).getBytes(StandardCharsets.UTF_8));
    StringBuilder b = new StringBuilder(dsName.length() > MAX_BASE ? dsName.substring(0, MAX_BASE) : dsName).append('-');
    long bits = 0;
    for (int i = 0; i < 8; i++) {
      bits = (bits << 8) | (h[i] & 0xff);
    }
    bits &= Long.MAX_VALUE;
    for (int i = 0; i < SUFFIX; i++) {
      b.append(ALPHABET.charAt((int) (bits % ALPHABET.length())));
      bits /= ALPHABET.length();
    }
    return b.toString();
  }
}
