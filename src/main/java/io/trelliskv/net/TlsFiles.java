package io.trelliskv.net;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Checks of a node's certificate and key files before a TLS context is built from them, so that a file the engine
 * would refuse with a low-level reason, or accept and then fail every handshake with, is refused at once with one that
 * says what is wrong and how to put it right: a key in another format than PKCS#8 (as {@code openssl genrsa} on
 * OpenSSL 1.1 and {@code openssl ecparam -genkey} write), an encrypted key, a file that cannot be read, and a key
 * that does not belong to the certificate (the engine builds a context from them and every handshake fails, so a
 * rotation to such a pair would be an outage; OpenSSL refuses the pair, and so does this).
 */
public final class TlsFiles {

    private TlsFiles() {
    }

    /** The TLS versions a node can be told to allow, by the names Netty and the JDK use. */
    public static final List<String> PROTOCOLS = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");

    /**
     * {@code --tls-protocols} as Redis reads it: space-separated, any case, each one of {@link #PROTOCOLS}; blank for
     * the engine's defaults (TLS 1.2 and 1.3).
     *
     * @throws IllegalArgumentException naming the value that is not a TLS version
     */
    public static List<String> protocols(String text) {
        if (text == null || text.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(text.trim().split("\\s+")).map(p -> PROTOCOLS.stream()
                .filter(known -> known.equalsIgnoreCase(p)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("--tls-protocols: '" + p + "' is not one of "
                        + String.join(", ", PROTOCOLS)))).distinct().toList();
    }

    /** TLS 1.3's cipher suites, by their standard names; the first three are what every engine offers by default. */
    public static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256");

    /**
     * The cipher list to give the TLS engine for Redis's two options: {@code tls12} ({@code --tls-ciphers}, TLS 1.2
     * and older, colon-separated) and {@code tls13} ({@code --tls-ciphersuites}, TLS 1.3 only), each null for the
     * engine's defaults. The engine takes one list, and turns a TLS version off when the list names none of its
     * ciphers, so the version an option does not name keeps its defaults here. Empty: the defaults for both.
     *
     * @param boringSsl whether the engine is BoringSSL, whose TLS 1.3 suites cannot be chosen
     * @param jdkTls12Defaults the JDK engine's TLS 1.2 ciphers, for a TLS 1.3 list on it (not asked for otherwise)
     * @throws IllegalArgumentException for a name in the wrong option, or a TLS 1.3 list the engine cannot honour
     */
    public static List<String> ciphers(String tls12, String tls13, boolean boringSsl,
                                       java.util.function.Supplier<List<String>> jdkTls12Defaults) {
        List<String> older = split(tls12);
        List<String> newer = split(tls13);
        for (String c : older) {
            if (TLS13_SUITES.contains(c)) {
                throw new IllegalArgumentException("--tls-ciphers: " + c + " is a TLS 1.3 cipher suite: give it in"
                        + " --tls-ciphersuites");
            }
        }
        for (String c : newer) {
            if (!TLS13_SUITES.contains(c)) {
                throw new IllegalArgumentException("--tls-ciphersuites: " + c + " is not a TLS 1.3 cipher suite (one of "
                        + String.join(", ", TLS13_SUITES) + "); TLS 1.2 ciphers go in --tls-ciphers");
            }
        }
        if (!newer.isEmpty() && boringSsl) {
            throw new IllegalArgumentException("--tls-ciphersuites: the TLS engine here (BoringSSL) does not let TLS 1.3"
                    + " cipher suites be chosen (it offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and"
                    + " TLS_CHACHA20_POLY1305_SHA256); leave the option out, or turn TLS 1.3 off with --tls-protocols TLSv1.2");
        }
        if (older.isEmpty() && newer.isEmpty()) {
            return List.of();
        }
        List<String> out = new java.util.ArrayList<>(older.isEmpty() ? jdkTls12Defaults.get() : older);
        out.addAll(newer.isEmpty() ? TLS13_SUITES.subList(0, 3) : newer);
        return List.copyOf(out);
    }

    private static List<String> split(String list) {
        if (list == null || list.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(list.trim().split(":")).map(String::trim).filter(c -> !c.isEmpty()).toList();
    }

    /**
     * Checks that {@code keyFile} is an unencrypted PKCS#8 PEM key that belongs to the first certificate of
     * {@code certFile}.
     *
     * @throws IllegalArgumentException naming the file, what is wrong, and the fix where there is one
     */
    public static void check(Path certFile, Path keyFile) {
        String pem = read(keyFile, "key");
        String convert = ": convert it to PKCS#8 with openssl pkcs8 -topk8 -nocrypt -in " + keyFile + " -out KEY.pem";
        if (pem.contains("ENCRYPTED")) { // BEGIN ENCRYPTED PRIVATE KEY, or OpenSSL's Proc-Type: 4,ENCRYPTED
            throw new IllegalArgumentException("key file " + keyFile + " is encrypted; keys are read unencrypted"
                    + convert + " (it asks for the pass phrase), and keep the file readable by the node only");
        }
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            throw new IllegalArgumentException("key file " + keyFile + " is a PKCS#1 key (BEGIN RSA PRIVATE KEY), not"
                    + " PKCS#8 (BEGIN PRIVATE KEY)" + convert);
        }
        if (pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new IllegalArgumentException("key file " + keyFile + " is a SEC1 key (BEGIN EC PRIVATE KEY), not"
                    + " PKCS#8 (BEGIN PRIVATE KEY)" + convert);
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("key file " + keyFile + " holds no PEM private key (BEGIN PRIVATE KEY)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("key file " + keyFile + " is not valid PEM: " + e.getMessage());
        }
        PublicKey certKey = certificateKey(certFile);
        PrivateKey key = privateKey(der, certKey.getAlgorithm(), keyFile);
        if (!belongTogether(key, certKey)) {
            throw new IllegalArgumentException("key file " + keyFile + " does not belong to certificate " + certFile
                    + " (the certificate's public key is another key's)");
        }
    }

    private static String read(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " file " + file + " cannot be read: " + reason(e));
        }
    }

    private static PublicKey certificateKey(Path certFile) {
        try (InputStream in = Files.newInputStream(certFile)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("certificate file " + certFile + " holds no PEM certificate");
            }
            return certs.iterator().next().getPublicKey(); // the leaf comes first; the chain follows it
        } catch (IOException e) {
            throw new IllegalArgumentException("certificate file " + certFile + " cannot be read: " + reason(e));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("certificate file " + certFile + " is not a PEM certificate: "
                    + e.getMessage());
        }
    }

    private static PrivateKey privateKey(byte[] der, String algorithm, Path keyFile) {
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("key file " + keyFile + " is not a " + algorithm + " key, as the"
                    + " certificate's is: " + e.getMessage());
        }
    }

    /** Whether a signature made with {@code key} verifies with {@code certKey}; true for key kinds not checked. */
    private static boolean belongTogether(PrivateKey key, PublicKey certKey) {
        String algorithm = switch (certKey.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "ED25519", "EDDSA" -> "Ed25519";
            case "ED448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return true; // the engine decides, at the first handshake
        }
        byte[] probe = "trelliskv key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(certKey);
            verify.update(probe);
            return verify.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e.getMessage();
    }
}
