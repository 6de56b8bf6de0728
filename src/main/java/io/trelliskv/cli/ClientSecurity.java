package io.trelliskv.cli;

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
import java.util.Collection;

/**
 * How trellis-cli proves itself to a node and checks the node: TLS ({@code --tls}, {@code --cacert},
 * {@code --cert}, {@code --key}, as redis-cli names them) and the user to log in as ({@code --user},
 * {@code --pass}, or the password from the environment variable {@link #PASSWORD_VARIABLE}, so it need
 * not appear in the process list). The JDK's TLS, no native code.
 *
 * @param tls      a socket factory for TLS, or null for plain TCP
 * @param user     the user to AUTH as; null with a password means the default user
 * @param password the password, or null for no AUTH
 */
record ClientSecurity(SSLSocketFactory tls, String user, String password) {

    /** Plain TCP, no AUTH. */
    static final ClientSecurity NONE = new ClientSecurity(null, null, null);

    /** The environment variable trellis-cli reads a password from when --pass is not given (redis-cli's name). */
    static final String PASSWORD_VARIABLE = "REDISCLI_AUTH";

    @Override
    public String toString() {
        return "ClientSecurity[tls=" + (tls != null) + ", user=" + user + ", password=" + (password == null ? "none" : "(set)") + "]";
    }

    /**
     * A TLS socket factory trusting the CA certificates in {@code caCert} (the JDK's default trust store
     * if null) and presenting {@code cert} with {@code key} (PEM, PKCS#8) if given.
     *
     * @throws UsageException naming the file and the reason if one cannot be used
     */
    static SSLSocketFactory tlsFactory(Path caCert, Path cert, Path key) {
        if ((cert == null) != (key == null)) {
            throw new UsageException("--cert and --key go together");
        }
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (caCert != null) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                int i = 0;
                for (Certificate c : certificates(caCert, "--cacert")) {
                    trust.setCertificateEntry("ca" + i++, c);
                }
                tmf.init(trust);
            } else {
                tmf.init((KeyStore) null);
            }
            KeyManagerFactory kmf = null;
            if (cert != null) {
                KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
                keys.load(null, null);
                keys.setKeyEntry("client", privateKey(key), new char[0],
                        certificates(cert, "--cert").toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (GeneralSecurityException | IOException e) {
            throw new UsageException("TLS setup failed: " + e.getMessage());
        }
    }

    private static Collection<? extends Certificate> certificates(Path file, String option) {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new UsageException(option + ": no certificate in " + file);
            }
            return certs;
        } catch (IOException e) {
            throw new UsageException(option + ": cannot read " + file + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new UsageException(option + ": " + file + " is not a PEM certificate: " + e.getMessage());
        }
    }

    private static PrivateKey privateKey(Path pem) {
        String text;
        try {
            text = Files.readString(pem);
        } catch (IOException e) {
            throw new UsageException("--key: cannot read " + pem + ": " + e.getMessage());
        }
        if (!text.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new UsageException("--key: " + pem + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY); convert it with"
                    + " openssl pkcs8 -topk8 -nocrypt");
        }
        byte[] der = Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""));
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException tryNext) {
                // not this algorithm
            }
        }
        throw new UsageException("--key: " + pem + " is not an EC, RSA or Ed25519 key");
    }
}
