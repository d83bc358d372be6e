package io.skein.internal.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Sealing with the cluster key: round trip, another cluster's key, tampering, bounds. */
class SealedSecretsTest {
  private static final SealedSecrets KEY = SealedSecrets.fromClusterSecret("cluster-secret-one");

  @Test
  void aSealedSecretOpensWithTheSameClusterSecretOnly() {
    String sealed = KEY.seal("s3cr3t-client-secret");
    assertThat(sealed).startsWith(SealedSecrets.PREFIX).doesNotContain("s3cr3t");
    assertThat(SealedSecrets.fromClusterSecret("cluster-secret-one").open(sealed))
        .isEqualTo("s3cr3t-client-secret");
    assertThat(KEY.seal("s3cr3t-client-secret")).as("a fresh nonce each time").isNotEqualTo(sealed);
    assertThatThrownBy(() -> SealedSecrets.fromClusterSecret("cluster-secret-two").open(sealed))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("another cluster")
        .hasMessageNotContaining(sealed.substring(SealedSecrets.PREFIX.length()));
  }

  @Test
  void anAlteredOrMalformedValueDoesNotOpen() {
    for (int i = 0; i < 200; i++) { // fresh nonces: any character of any value
      String sealed = KEY.seal("abc");
      // A character before the last: every one of its six bits is data (the last character of
      // an unpadded base64url string may carry unused bits, so changing it can change nothing).
      int at =
          SealedSecrets.PREFIX.length() + i % (sealed.length() - SealedSecrets.PREFIX.length() - 1);
      char c = sealed.charAt(at);
      String altered = sealed.substring(0, at) + (c == 'A' ? 'B' : 'A') + sealed.substring(at + 1);
      assertThatThrownBy(() -> KEY.open(altered)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> KEY.open("sealed:v1:***"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KEY.open("sealed:v1:AAAA")).hasMessageContaining("too short");
    assertThatThrownBy(() -> KEY.open("plain")).hasMessageContaining("not a sealed value");
    assertThatThrownBy(() -> KEY.seal("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KEY.seal("x".repeat(SealedSecrets.PLAIN_BYTES_MAX + 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedSecrets.fromClusterSecret(""))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
