package io.trelliskv.security;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * Mutual proof between two peers that both know the cluster secret ({@code --cluster-secret-file}),
 * without the secret crossing the wire: a challenge-response with HMAC-SHA256 over fresh nonces.
 *
 * <pre>
 *   dialer   -> acceptor : hello, nonce D
 *   acceptor -> dialer   : nonce A, HMAC(secret, "acceptor" | D | A)
 *   dialer   -> acceptor : HMAC(secret, "dialer" | D | A)
 * </pre>
 * Each side proves itself over both nonces, one of them its peer's fresh one, so a recorded exchange
 * cannot be replayed; the role label in each MAC stops a proof from being reflected back at its sender.
 * A side that receives a wrong proof closes the connection.
 */
public final class PeerAuthenticator {

    /** Bytes in a nonce. */
    public static final int NONCE_BYTES = 32;
    /** Bytes in a proof (HMAC-SHA256). */
    public static final int PROOF_BYTES = 32;
    /** A secret shorter than this is refused: it would be guessable offline from one recorded exchange. */
    public static final int MIN_SECRET_BYTES = 16;

    /** Who is proving: the side that opened the connection or the side that accepted it. */
    public enum Role {
        DIALER, ACCEPTOR
    }

    private static final byte[] LABEL = "trelliskv peer auth v1 ".getBytes(StandardCharsets.US_ASCII);

    private final SecretKeySpec key;
    private final SecureRandom random = new SecureRandom();

    /**
     * @param secret the shared secret, at least {@link #MIN_SECRET_BYTES} bytes
     * @throws IllegalArgumentException if the secret is too short
     */
    public PeerAuthenticator(byte[] secret) {
        if (secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("cluster secret of " + secret.length + " bytes (expected: at least "
                    + MIN_SECRET_BYTES + ")");
        }
        this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
    }

    /** A fresh random nonce. */
    public byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        random.nextBytes(n);
        return n;
    }

    /** The proof {@code role} sends for the exchange with nonces {@code dialerNonce} and {@code acceptorNonce}. */
    public byte[] proof(Role role, byte[] dialerNonce, byte[] acceptorNonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(LABEL);
            mac.update((byte) role.ordinal());
            mac.update(dialerNonce);
            mac.update(acceptorNonce);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has HmacSHA256", e);
        }
    }

    /** True if {@code proof} is the one {@code role} must send for these nonces; compared in constant time. */
    public boolean verify(Role role, byte[] dialerNonce, byte[] acceptorNonce, byte[] proof) {
        if (dialerNonce.length != NONCE_BYTES || acceptorNonce.length != NONCE_BYTES || proof.length != PROOF_BYTES) {
            return false;
        }
        return MessageDigest.isEqual(proof(role, dialerNonce, acceptorNonce), proof);
    }
}
