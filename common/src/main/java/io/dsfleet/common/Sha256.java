package io.dsfleet.common;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 in lowercase hex: how secrets are kept (join tokens, leave secrets) and content named. */
public final class Sha256 {
  private Sha256() {}

  public static String hex(byte[] data) {
    return hex(java.nio.ByteBuffer.wrap(data));
  }

  /** A SHA-256 to feed piece by piece. */
  public static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Of the buffer's remaining bytes, read without copying them (a protobuf ByteString's {@code asReadOnlyByteBuffer()}). */
  public static String hex(java.nio.ByteBuffer data) {
    MessageDigest md = digest();
    md.update(data);
    return HexFormat.of().formatHex(md.digest());
  }

  /** Of the text's UTF-8 bytes. */
  public static String hex(String text) {
    return hex(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Whether the secret hashes to {@code expectedHex}, compared in constant time. */
  public static boolean matches(String secret, String expectedHex) {
    return MessageDigest.isEqual(hex(secret).getBytes(StandardCharsets.US_ASCII), expectedHex.getBytes(StandardCharsets.US_ASCII));
  }
}
