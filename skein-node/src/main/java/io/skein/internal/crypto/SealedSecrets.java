package io.skein.internal.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals small secrets (a remote peer's OAuth2 client secret, DESIGN.md D7) with a key derived from
 * the cluster secret, so that they can live in a replicated collection without ever being stored or
 * replicated in plain text. Every node of the cluster holds the cluster secret, so every node can
 * open them; a database file, a backup or a peer message alone reveals nothing.
 *
 * <p>The key is HKDF-SHA256 (RFC 5869) of the cluster secret, with a fixed salt and context, 256
 * bits; the cipher is AES-256-GCM from the JDK, a fresh random 96-bit nonce per seal, a 128-bit
 * tag, and a fixed associated-data label. The text form is {@code sealed:v1:} followed by the
 * base64url (no padding) of the nonce and the ciphertext with its tag. Opening fails, without
 * saying more, if the value was sealed with another cluster secret or altered.
 *
 * <p>Thread-safe: instances are immutable, and each call uses its own {@link Cipher}.
 */
public final class SealedSecrets {
  /** The prefix of a sealed value. */
  public static final String PREFIX = "sealed:v1:";

  /** The longest plain secret this seals, in UTF-8 bytes. */
  public static final int PLAIN_BYTES_MAX = 4_096;

  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final byte[] SALT = "skein sealed secrets".getBytes(StandardCharsets.UTF_8);
  private static final byte[] INFO = "skein aes-256-gcm v1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LABEL = "skein:sealed:v1".getBytes(StandardCharsets.UTF_8);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;

  private SealedSecrets(byte[] key) {
    this.key = new SecretKeySpec(key, "AES");
  }

  /**
   * Derives the sealing key from a cluster secret.
   *
   * @throws IllegalArgumentException if the cluster secret is empty
   */
  public static SealedSecrets fromClusterSecret(String clusterSecret) {
    if (clusterSecret.isEmpty()) {
      throw new IllegalArgumentException("the cluster secret is empty");
    }
    return new SealedSecrets(hkdf(clusterSecret.getBytes(StandardCharsets.UTF_8)));
  }

  /** Returns whether {@code text} has the sealed form (it may still fail to open). */
  public static boolean isSealed(String text) {
    return text.startsWith(PREFIX);
  }

  /**
   * Seals a secret.
   *
   * @throws IllegalArgumentException if it is empty or over {@link #PLAIN_BYTES_MAX} bytes
   */
  public String seal(String plain) {
    byte[] bytes = plain.getBytes(StandardCharsets.UTF_8);
    if (bytes.length == 0 || bytes.length > PLAIN_BYTES_MAX) {
      throw new IllegalArgumentException(
          "a secret to seal must be 1 to " + PLAIN_BYTES_MAX + " bytes, was " + bytes.length);
    }
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(LABEL);
      byte[] sealed = cipher.doFinal(bytes);
      byte[] out = new byte[NONCE_BYTES + sealed.length];
      System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
      System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
      return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this JDK", e);
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  /**
   * Opens a sealed value.
   *
   * @throws IllegalArgumentException if it is not in the sealed form, was sealed with another
   *     cluster secret, or was altered (the message never includes any part of the value)
   */
  public String open(String sealed) {
    if (!isSealed(sealed)) {
      throw new IllegalArgumentException("not a sealed value (it must start with " + PREFIX + ")");
    }
    byte[] raw;
    try {
      raw = Base64.getUrlDecoder().decode(sealed.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a sealed value is not valid base64url");
    }
    if (raw.length < NONCE_BYTES + TAG_BITS / 8 + 1) {
      throw new IllegalArgumentException("a sealed value is too short");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, raw, 0, NONCE_BYTES));
      cipher.updateAAD(LABEL);
      byte[] plain = cipher.doFinal(raw, NONCE_BYTES, raw.length - NONCE_BYTES);
      return new String(plain, StandardCharsets.UTF_8);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new IllegalArgumentException(
          "a sealed value does not open with this cluster's secret (sealed for another cluster,"
              + " or altered)");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this JDK", e);
    }
  }

  /** HKDF-SHA256 (RFC 5869): extract with {@link #SALT}, expand one block with {@link #INFO}. */
  private static byte[] hkdf(byte[] ikm) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(SALT, "HmacSHA256"));
      byte[] prk = mac.doFinal(ikm);
      mac.init(new SecretKeySpec(prk, "HmacSHA256"));
      mac.update(INFO);
      mac.update((byte) 1);
      return mac.doFinal(); // 32 bytes: one block is the whole AES-256 key
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
    }
  }
}
