package io.dsfleet.common;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Secrets at rest: AES-256-GCM with a key kept in its own owner-only file, apart from the data it
 * protects, so a copy of the store or of the agent's state file (a backup, a disk image) holds no
 * Secret in the clear. Each sealed value is bound to what it is ({@code context}: e.g. the
 * object's kind, namespace and name) so a sealed value cannot be moved to another row unnoticed.
 * Data written before there was a key (no {@link #MAGIC}) is read as it is and sealed at its next
 * write.
 */
public final class SecretBox {
  /** Starts every sealed value: "dsb1". */
  static final byte[] MAGIC = "dsb1".getBytes(StandardCharsets.US_ASCII);
  private static final String TEXT_PREFIX = "dsb1:";
  private static final int NONCE = 12;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;
  private final Path keyFile;

  private SecretBox(byte[] key, Path keyFile) {
    this.key = new SecretKeySpec(key, "AES");
    this.keyFile = keyFile;
  }

  /**
   * The key in this file (base64 of 32 bytes), made owner-only on first use by the user whose
   * directory holds it. Root, in the directory of another user (the coordinator service's
   * {@code pki/}: `sudo ds-coordinator backup`, `restore`), reads a key there and never makes one:
   * that user may swap the directory for a link at any time after the check, and until 2026-12-06
   * a key gone by then was made by path, root writing {@code secrets.key} (replacing any file of
   * that name) into whatever directory the link named; made there it was root's 0600 too, which
   * the service could not read (helper-119). A key is made only when the file is certainly not
   * there: one that does not answer as there (a link leading nowhere, its target on a volume not
   * mounted yet; a stat the disk fails) is read, and refused naming it, never replaced: what was
   * sealed under the key it holds would be unreadable after (before 2026-12-06 it was taken for
   * none and a new key written in its place).
   */
  public static SecretBox loadOrCreate(Path keyFile) {
    return loadOrCreate(keyFile, () -> {});
  }

  /** {@link #loadOrCreate(Path)}; {@code checked} runs once the key's directory is checked (a test's swap). */
  static SecretBox loadOrCreate(Path keyFile, Runnable checked) {
    return loadOrCreate(keyFile, checked, () -> {});
  }

  /**
   * {@link #loadOrCreate(Path, Runnable)}; {@code opening} runs as the key is about to be opened (a
   * test's swap). The key is read through its directory as checked, held open since: until
   * 2026-12-06 it was read by path, and the directory's owner who swapped {@code pki/} for a link
   * after root's check had root read the key of the directory the link named (as the key of a
   * backup's MAC, or of the store's Secrets).
   */
  static SecretBox loadOrCreate(Path keyFile, Runnable checked, Runnable opening) {
    String name = keyFile.getFileName().toString();
    try (OwnerOnlyFiles.Held held = OwnerOnlyFiles.hold(keyFile.toAbsolutePath().getParent(), () -> {})) {
      checked.run();
      if (missing(held.dir(), name)) {
        if (held.anothers()) {
          throw new IllegalStateException("no " + keyFile + ": it is made by the user its directory belongs to (the coordinator's"
              + " init or first start), never by another (root's backup or restore there): nothing made");
        }
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        // by path, as this user's own directory's: no other user could have swapped it since the check
        OwnerOnlyFiles.write(keyFile, Base64.getEncoder().encodeToString(k) + "\n");
      }
      String text;
      try {
        text = OwnerOnlyFiles.readSmall(held.dir(), name, 4096, opening);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot read " + keyFile + ": " + e.getMessage(), e);
      }
      byte[] k;
      try {
        k = Base64.getDecoder().decode(text.strip());
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException("the key file " + keyFile + " is not base64: " + e.getMessage());
      }
      if (k.length != 32) {
        throw new IllegalStateException("the key file " + keyFile + " must hold 32 bytes (base64), it holds " + k.length);
      }
      return new SecretBox(k, keyFile);
    }
  }

  /** Whether the directory certainly holds no entry {@code name} (one that does not answer, a disk's error, is not missing). */
  private static boolean missing(HeldDirectory dir, String name) {
    try (HeldDirectory.Entry seen = dir.entry(name)) {
      return false;
    } catch (java.nio.file.NoSuchFileException none) {
      return true;
    } catch (java.io.IOException e) {
      return false; // read below, which says why it fails
    }
  }

  /**
   * An HMAC-SHA256 of {@code file} under a key derived from this box's for {@code purpose} alone
   * (HMAC of the purpose under the key): who holds the file and not the key can neither make one
   * that matches nor alter the file unnoticed.
   */
  public byte[] mac(String purpose, Path file) throws java.io.IOException {
    try (java.io.InputStream in = Files.newInputStream(file)) {
      return mac(purpose, in);
    }
  }

  /** {@link #mac(String, Path)} of what {@code in} holds (read to its end, not closed). */
  public byte[] mac(String purpose, java.io.InputStream in) throws java.io.IOException {
    try {
      javax.crypto.Mac derive = javax.crypto.Mac.getInstance("HmacSHA256");
      derive.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
      byte[] purposeKey = derive.doFinal(("dsfleet " + purpose).getBytes(StandardCharsets.UTF_8));
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(purposeKey, "HmacSHA256"));
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) >= 0; ) {
        mac.update(buf, 0, n);
      }
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 is not available: " + e.getMessage(), e);
    }
  }

  public static boolean isSealed(byte[] data) {
    return data.length >= MAGIC.length && Arrays.equals(data, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
  }

  public byte[] seal(byte[] plain, String context) {
    byte[] nonce = new byte[NONCE];
    RANDOM.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
      c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = c.doFinal(plain);
      return ByteBuffer.allocate(MAGIC.length + NONCE + sealed.length).put(MAGIC).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available: " + e.getMessage(), e);
    }
  }

  /**
   * The plain bytes of a sealed value; data that was never sealed comes back as it is.
   *
   * @throws IllegalStateException when the value was sealed with another key or for another context, or was altered
   */
  public byte[] open(byte[] data, String context) {
    if (!isSealed(data)) {
      return data;
    }
    if (data.length < MAGIC.length + NONCE + 16) {
      throw new IllegalStateException(context + ": the sealed value is truncated");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, data, MAGIC.length, NONCE));
      c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(data, MAGIC.length + NONCE, data.length - MAGIC.length - NONCE);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new IllegalStateException(context + ": cannot decrypt with the key in " + keyFile
          + " (another key sealed it, or the data was altered)");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(context + ": cannot decrypt: " + e.getMessage(), e);
    }
  }

  /** {@link #seal} for a text column: {@code dsb1:} and base64. */
  public String sealText(String plain, String context) {
    return TEXT_PREFIX + Base64.getEncoder().encodeToString(seal(plain.getBytes(StandardCharsets.UTF_8), context));
  }

  public static boolean isSealedText(String stored) {
    return stored.startsWith(TEXT_PREFIX);
  }

  /** {@link #open} for a text column; text that was never sealed comes back as it is. */
  public String openText(String stored, String context) {
    if (!isSealedText(stored)) {
      return stored;
    }
    byte[] sealed;
    try {
      sealed = Base64.getDecoder().decode(stored.substring(TEXT_PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(context + ": the sealed value is not base64");
    }
    return new String(open(sealed, context), StandardCharsets.UTF_8);
  }
}
