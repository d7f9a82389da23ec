package io.dsfleet.common.tls;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A join token: {@code dsf1.<ca-sha256>.<id>.<secret>}. The CA hash lets an agent refuse a
 * coordinator that is not the one the token came from before it sends anything (as kubeadm's
 * discovery hash and k3s's token prefix do); the id names the token in `dsctl token list`; the
 * coordinator keeps only a hash of the secret.
 */
public record JoinToken(String caHash, String id, String secret) {
  static final String PREFIX = "dsf1";
  private static final SecureRandom RANDOM = new SecureRandom();

  public static JoinToken create(String caHash) {
    byte[] id = new byte[3];
    byte[] secret = new byte[16];
    RANDOM.nextBytes(id);
    RANDOM.nextBytes(secret);
    return new JoinToken(caHash, HexFormat.of().formatHex(id), HexFormat.of().formatHex(secret));
  }

  /** @throws IllegalArgumentException naming what is wrong (never echoing the secret) */
  public static JoinToken parse(String text) {
    String[] parts = text.strip().split("\\.");
    if (parts.length != 4 || !parts[0].equals(PREFIX)) {
      throw new IllegalArgumentException("a join token has the form dsf1.<ca-sha256>.<id>.<secret> (from `dsctl token create`)");
    }
    if (!parts[1].matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("join token: the CA hash must be 64 hex digits");
    }
    if (!parts[2].matches("[0-9a-f]{6}") || !parts[3].matches("[0-9a-f]{32}")) {
      throw new IllegalArgumentException("join token: malformed id or secret");
    }
    return new JoinToken(parts[1], parts[2], parts[3]);
  }

  public String text() {
    return PREFIX + "." + caHash + "." + id + "." + secret;
  }

  @Override
  public String toString() {
    return "JoinToken[id=" + id + "]";
  }
}
