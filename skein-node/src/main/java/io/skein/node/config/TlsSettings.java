package io.skein.node.config;

import io.skein.core.config.Secret;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * TLS for the node's port (D10): the API and the peer streams. The node serves with the key in
 * {@code keystore} (PKCS12 or JKS) and trusts peers whose certificates chain to {@code truststore},
 * or, without one, to the keystore's own certificates (a cluster that shares one certificate, or
 * one CA).
 *
 * @param keystore the key store file
 * @param keystorePassword its password
 * @param truststore the trust store file, or {@code null} to trust the keystore's certificates
 * @param truststorePassword its password, or {@code null} (then the keystore's)
 */
public record TlsSettings(
    Path keystore,
    Secret keystorePassword,
    @Nullable Path truststore,
    @Nullable Secret truststorePassword) {

  /**
   * Loads both stores, so that a wrong path or password fails at start with a clear message.
   *
   * @throws SettingsException naming the file and the problem
   */
  public void validate() {
    load(keystore, keystorePassword, "--tls-keystore");
    Path trust = truststore;
    if (trust != null) {
      load(trust, trustPassword(), "--tls-truststore");
    }
  }

  private Secret trustPassword() {
    Secret password = truststorePassword;
    return password != null ? password : keystorePassword;
  }

  /** Returns a client context that trusts the peers' certificates (for dialling peers). */
  public SSLContext clientContext() {
    Path trust = truststore;
    KeyStore store =
        trust != null
            ? load(trust, trustPassword(), "--tls-truststore")
            : load(keystore, keystorePassword, "--tls-keystore");
    try {
      TrustManagerFactory trustManagers =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(store);
      KeyManagerFactory keyManagers =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keyManagers.init(
          load(keystore, keystorePassword, "--tls-keystore"),
          keystorePassword.value().toCharArray());
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new SettingsException("invalid TLS settings: " + e.getMessage(), e);
    }
  }

  private static KeyStore load(Path file, Secret password, String flag) {
    if (!Files.isRegularFile(file)) {
      throw new SettingsException("invalid " + flag + ": " + file + " is not a readable file");
    }
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(in, password.value().toCharArray());
      return store;
    } catch (IOException | GeneralSecurityException e) {
      throw new SettingsException(
          "invalid " + flag + ": cannot load " + file + " (wrong password or format?): " + e, e);
    }
  }
}
