package io.dsfleet.coordinator.store;

import io.dsfleet.common.SecretBox;

/**
 * A store's identity ({@link Store#identity}), derived from its Secrets key (made with the store,
 * the same file on every replica of a group, kept by a restore with {@code pki/}) and its epoch (0
 * until a restore draws another, {@link #newEpoch}). No write makes it: every replica and every
 * restart of one store names the same, and no log entry carries it. A new store has a new key (a
 * data directory whose key is there without its store is refused: {@link StoreFiles#refuseLost}).
 */
final class StoreIdentity {
  /** The counter the epoch is kept in. */
  static final String EPOCH = "store_epoch";

  private StoreIdentity() {}

  static String of(SecretBox key, long epoch) {
    try {
      byte[] mac = key.mac("store identity " + epoch, new java.io.ByteArrayInputStream(new byte[0]));
      return java.util.HexFormat.of().formatHex(mac, 0, 16);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e); // an array read throws nothing
    }
  }

  /** Another epoch than 0 and, all but surely, than any before. */
  static long newEpoch() {
    long epoch = 0;
    while (epoch == 0) {
      epoch = new java.security.SecureRandom().nextLong();
    }
    return epoch;
  }
}
