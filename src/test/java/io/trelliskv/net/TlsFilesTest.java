package io.trelliskv.net;

import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The checks a node makes of its certificate and key before TLS is built from them, on keys {@code openssl} writes in
 * each format operators meet: every refusal names the file and the way out.
 */
class TlsFilesTest {

    @TempDir
    Path dir;

    @Test
    void aKeyAndItsCertificatePass() throws Exception {
        TestCertificates c = TestCertificates.make(dir, "");
        assertThatCode(() -> TlsFiles.check(c.serverCert, c.serverKey)).doesNotThrowAnyException();
        assertThatCode(() -> TlsFiles.check(c.clientCert, c.clientKey)).doesNotThrowAnyException();
    }

    @Test
    void aKeyOfAnotherCertificateIsRefused() throws Exception {
        TestCertificates c = TestCertificates.make(dir, "");
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, c.clientKey)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("key file " + c.clientKey + " does not belong to certificate " + c.serverCert
                        + " (the certificate's public key is another key's)");
    }

    @Test
    void keysInOtherFormatsAreRefusedWithTheCommandThatConvertsThem() throws Exception {
        TestCertificates c = TestCertificates.make(dir, "");
        Path sec1 = dir.resolve("sec1.key");
        openssl("ec", "-in", c.serverKey.toString(), "-out", sec1.toString()); // BEGIN EC PRIVATE KEY
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, sec1)).hasMessage("key file " + sec1 + " is a SEC1 key"
                + " (BEGIN EC PRIVATE KEY), not PKCS#8 (BEGIN PRIVATE KEY): convert it to PKCS#8 with openssl pkcs8"
                + " -topk8 -nocrypt -in " + sec1 + " -out KEY.pem");

        Path rsa = dir.resolve("rsa.key");
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa.toString());
        Path pkcs1 = dir.resolve("pkcs1.key");
        openssl("rsa", "-in", rsa.toString(), "-traditional", "-out", pkcs1.toString()); // BEGIN RSA PRIVATE KEY
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, pkcs1))
                .hasMessageStartingWith("key file " + pkcs1 + " is a PKCS#1 key (BEGIN RSA PRIVATE KEY)")
                .hasMessageEndingWith("-topk8 -nocrypt -in " + pkcs1 + " -out KEY.pem");

        Path encrypted = dir.resolve("encrypted.key");
        openssl("pkcs8", "-topk8", "-in", c.serverKey.toString(), "-passout", "pass:secret", "-out", encrypted.toString());
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, encrypted))
                .hasMessageStartingWith("key file " + encrypted + " is encrypted; keys are read unencrypted");
    }

    @Test
    void filesThatAreMissingOrHoldSomethingElseAreNamed() throws Exception {
        TestCertificates c = TestCertificates.make(dir, "");
        Path missing = dir.resolve("missing.key");
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, missing))
                .hasMessage("key file " + missing + " cannot be read: no such file");
        assertThatThrownBy(() -> TlsFiles.check(c.serverCert, c.serverCert))
                .hasMessage("key file " + c.serverCert + " holds no PEM private key (BEGIN PRIVATE KEY)");
        Path empty = Files.writeString(dir.resolve("empty.crt"), "");
        assertThatThrownBy(() -> TlsFiles.check(empty, c.serverKey))
                .hasMessage("certificate file " + empty + " holds no PEM certificate");
    }

    @Test
    void protocolsAreReadAsRedisReadsThem() {
        assertThat(TlsFiles.protocols("tlsv1.2 TLSV1.3")).containsExactly("TLSv1.2", "TLSv1.3");
        assertThat(TlsFiles.protocols("  TLSv1.3  ")).containsExactly("TLSv1.3");
        assertThat(TlsFiles.protocols("")).as("blank: the engine's defaults").isEmpty();
        assertThat(TlsFiles.protocols(null)).isEmpty();
        assertThatThrownBy(() -> TlsFiles.protocols("TLSv1.2 TLSv1.4"))
                .hasMessage("--tls-protocols: 'TLSv1.4' is not one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3");
    }

    @Test
    void ciphersKeepTheVersionAnOptionDoesNotNameOnItsDefaults() {
        List<String> jdk12 = List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertThat(TlsFiles.ciphers(null, " ", true, () -> jdk12)).as("neither: the engine's defaults").isEmpty();
        assertThat(TlsFiles.ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", null, true, () -> jdk12))
                .containsExactly("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256",
                        "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
        assertThat(TlsFiles.ciphers(null, "TLS_CHACHA20_POLY1305_SHA256", false, () -> jdk12))
                .containsExactly("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                        "TLS_CHACHA20_POLY1305_SHA256");
    }

    @Test
    void aCipherInTheWrongOptionOrOneTheEngineCannotHonourIsRefused() {
        assertThatThrownBy(() -> TlsFiles.ciphers("TLS_AES_128_GCM_SHA256", null, false, List::of))
                .hasMessage("--tls-ciphers: TLS_AES_128_GCM_SHA256 is a TLS 1.3 cipher suite: give it in --tls-ciphersuites");
        assertThatThrownBy(() -> TlsFiles.ciphers(null, "ECDHE-RSA-AES128-GCM-SHA256", false, List::of))
                .hasMessageStartingWith("--tls-ciphersuites: ECDHE-RSA-AES128-GCM-SHA256 is not a TLS 1.3 cipher suite");
        assertThatThrownBy(() -> TlsFiles.ciphers(null, "TLS_CHACHA20_POLY1305_SHA256", true, List::of))
                .hasMessageStartingWith("--tls-ciphersuites: the TLS engine here (BoringSSL) does not let TLS 1.3 cipher"
                        + " suites be chosen");
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        TestCertificates.openssl(dir, args);
    }
}
