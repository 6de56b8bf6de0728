package io.trelliskv.testing;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made by the
 * {@code openssl} command in a test's directory (EC P-256 keys in PKCS#8 PEM, as operators make them),
 * and the client-side {@link SSLSocketFactory} that trusts the CA and presents the client certificate.
 */
public final class TestCertificates {

    public final Path dir;
    public final Path caCert;
    public final Path serverCert;
    public final Path serverKey;
    public final Path clientCert;
    public final Path clientKey;
    /** The CA's private key, which signs this set's certificates. */
    private final Path caKey;

    private TestCertificates(Path dir, String prefix) {
        this(dir, prefix, dir.resolve(prefix + "ca.crt"), dir.resolve(prefix + "ca.key"));
    }

    private TestCertificates(Path dir, String prefix, Path caCert, Path caKey) {
        this.dir = dir;
        this.caKey = caKey;
        this.caCert = caCert;
        this.serverCert = dir.resolve(prefix + "server.crt");
        this.serverKey = dir.resolve(prefix + "server.key");
        this.clientCert = dir.resolve(prefix + "client.crt");
        this.clientKey = dir.resolve(prefix + "client.key");
    }

    /** The certificates {@link #make} left in {@code dir} earlier (another process may have made them). */
    public static TestCertificates in(Path dir, String prefix) {
        return new TestCertificates(dir, prefix);
    }

    /** Makes a CA and its two certificates under {@code dir}; {@code prefix} tells sets apart (a rotation). */
    public static TestCertificates make(Path dir, String prefix) throws IOException, InterruptedException {
        TestCertificates c = new TestCertificates(dir, prefix);
        openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", c.caKey.toString());
        openssl(dir, "req", "-x509", "-new", "-key", c.caKey.toString(), "-days", "2", "-subj", "/CN=" + prefix + "test-ca",
                "-out", c.caCert.toString());
        c.issue(prefix);
        return c;
    }

    /** New server and client certificates and keys, named with {@code prefix}, signed by this set's CA (a rotation). */
    public TestCertificates reissue(String prefix) throws IOException, InterruptedException {
        TestCertificates c = new TestCertificates(dir, prefix, caCert, caKey);
        c.issue(prefix);
        return c;
    }

    private void issue(String prefix) throws IOException, InterruptedException {
        Path ext = dir.resolve(prefix + "server.ext");
        Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        for (String who : List.of("server", "client")) {
            Path key = who.equals("server") ? serverKey : clientKey;
            Path crt = who.equals("server") ? serverCert : clientCert;
            Path csr = dir.resolve(prefix + who + ".csr");
            openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
            openssl(dir, "req", "-new", "-key", key.toString(), "-subj", "/CN=" + prefix + who, "-out", csr.toString());
            if (who.equals("server")) {
                openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", crt.toString());
            } else {
                openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                        "-CAcreateserial", "-days", "2", "-out", crt.toString());
            }
        }
    }

    /** Runs {@code openssl} with {@code args} in {@code dir}; its output goes to dir/openssl.log, shown if it fails. */
    public static void openssl(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("openssl.log").toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("openssl " + String.join(" ", args) + " failed: "
                    + Files.readString(dir.resolve("openssl.log")));
        }
    }

    /** A client socket factory that trusts this CA and, if {@code presentCertificate}, shows the client certificate. */
    public SSLSocketFactory clientSocketFactory(boolean presentCertificate) throws IOException, GeneralSecurityException {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caCert)) {
            trust.setCertificateEntry("ca", x509.generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (presentCertificate) {
            KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
            keys.load(null, null);
            Certificate cert;
            try (InputStream in = Files.newInputStream(clientCert)) {
                cert = x509.generateCertificate(in);
            }
            keys.setKeyEntry("client", privateKey(clientKey), new char[0], new Certificate[] {cert});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx.getSocketFactory();
    }

    private static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        String body = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    }
}
