package io.trelliskv.security;

import io.trelliskv.common.Clock;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Proof between two peers that both know the cluster secret ({@code --cluster-secret-file}), carried in
 * their hellos, without the secret crossing the wire: HMAC-SHA256 over fresh nonces.
 *
 * <h2>Challenge and response</h2>
 * What this build's nodes do ({@code PeerCodec.VERSION_WITH_CHALLENGE}):
 * <pre>
 *   dialer   -> acceptor : hello + nonce D
 *   acceptor -> dialer   : hello + nonce A, time, HMAC(secret, "acceptor" | cluster | acceptor id | D | A)
 *   dialer   -> acceptor : AUTH_RESPONSE frame  HMAC(secret, "response" | cluster | dialer id | D | A | acceptor id)
 *   dialer   -> acceptor : requests
 * </pre>
 * Each side's proof covers the other's fresh nonce, so neither can be recorded and used again: not on the same
 * node, nor on another (the response also names the acceptor), nor sent back to its sender. The dialer sends
 * nothing but its hello until the acceptor's proof has checked out, so its requests never reach a node without
 * the secret; the acceptor handles no request before the response has checked out. It costs one round trip
 * when a connection opens, and connections stay open.
 *
 * <h2>Nodes of earlier builds</h2>
 * An earlier build's dialer proves the secret in its hello alone, sending its requests right behind it:
 * <pre>
 *   dialer   -> acceptor : hello + nonce D, time T, HMAC(secret, "dialer"   | cluster | node id | D | T)
 *   acceptor -> dialer   : hello + nonce A, time,   HMAC(secret, "acceptor" | cluster | node id | D | A)
 * </pre>
 * Its proof is fresh by construction: the acceptor refuses a proof whose time is more than
 * {@link #WINDOW_MILLIS} from its clock or whose nonce it has seen within that window, so a recorded hello
 * cannot be replayed to the node it was sent to; but it can be to another node within the window. This build
 * still accepts such hellos, so that a cluster can be upgraded node by node, and sends one itself to a peer
 * that refuses its challenge (an earlier build). The role label in each MAC keeps one side's proof from being
 * reflected as the other's. A side that receives no proof or a wrong one closes the connection.
 *
 * <p><b>Guessing is slowed down</b> as for client logins: an address whose hellos failed the check too often
 * ({@link AuthThrottle}: a burst of {@value AuthThrottle#BURST}, then {@value AuthThrottle#REFILL_PER_SECOND}
 * a second) is refused without its proof being checked ({@link #mayTry}, {@link #failed}); both are counted
 * for INFO ({@code peer_auth_failures}, {@code peer_auth_throttled}).
 */
public final class PeerAuthenticator {

    /** Bytes of a nonce. */
    static final int NONCE_BYTES = 16;
    /** Bytes of a proof as a hello carries it: nonce, time, HMAC-SHA256. */
    public static final int PROOF_BYTES = NONCE_BYTES + 8 + 32;
    /** A secret shorter than this is refused: it would be guessable offline from one recorded exchange. */
    public static final int MIN_SECRET_BYTES = 16;
    /** How far a dialer's time may be from the acceptor's clock, either way. */
    public static final long WINDOW_MILLIS = 30_000;
    /** Most dialer nonces remembered; past it the oldest are forgotten. */
    static final int MAX_REMEMBERED = 1 << 16;

    /** Who is proving: the side that opened the connection or the side that accepted it. */
    public enum Role {
        DIALER, ACCEPTOR, RESPONSE
    }

    /** Bytes of a challenge (a dialer's hello proof under challenge and response): one nonce. */
    public static final int CHALLENGE_BYTES = NONCE_BYTES;

    private static final byte[] LABEL = "trelliskv peer auth v1 ".getBytes(StandardCharsets.US_ASCII);

    private final SecretKeySpec key;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Dialer nonces accepted lately: a recorded hello is not accepted twice. */
    private final ReplayWindow seen = new ReplayWindow(WINDOW_MILLIS, MAX_REMEMBERED);
    /** Failed dialer proofs per address, to slow guessing down. */
    private final AuthThrottle throttle = new AuthThrottle();
    private final LongAdder failures = new LongAdder();

    /**
     * @param secret the shared secret, at least {@link #MIN_SECRET_BYTES} bytes
     * @throws IllegalArgumentException if the secret is too short
     */
    public PeerAuthenticator(byte[] secret, Clock clock) {
        if (secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("cluster secret of " + secret.length + " bytes (expected: at least "
                    + MIN_SECRET_BYTES + ")");
        }
        this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
        this.clock = clock;
    }

    /** True if a dialer at {@code host} may have its proof checked now; false (and counted) while throttled. */
    public boolean mayTry(String host) {
        return throttle.mayTry(host, clock.millis());
    }

    /** Records a dialer at {@code host} whose proof was missing, wrong or replayed. */
    public void failed(String host) {
        failures.increment();
        throttle.failed(host, clock.millis());
    }

    /** Dialer proofs refused so far: missing, wrong or replayed (INFO {@code peer_auth_failures}). */
    public long failures() {
        return failures.sum();
    }

    /** Peer hellos refused unchecked because their address had failed too often (INFO {@code peer_auth_throttled}). */
    public long throttled() {
        return throttle.throttled();
    }

    /** The proof a dialer puts in its hello: who it is ({@code cluster}, {@code nodeId}), a fresh nonce and the time. */
    public byte[] dialerProof(String cluster, long nodeId) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        long now = clock.millis();
        return assemble(nonce, now, mac(Role.DIALER, cluster, nodeId, nonce, longBytes(now)));
    }

    /**
     * True if {@code proof} is a dialer's valid, fresh proof for {@code cluster} and {@code nodeId} (as its
     * hello says), seen for the first time; the nonce is then remembered.
     */
    public boolean acceptDialer(String cluster, long nodeId, byte[] proof) {
        if (proof == null || proof.length != PROOF_BYTES) {
            return false;
        }
        byte[] nonce = Arrays.copyOfRange(proof, 0, NONCE_BYTES);
        long sentAt = ByteBuffer.wrap(proof, NONCE_BYTES, 8).getLong();
        byte[] expected = mac(Role.DIALER, cluster, nodeId, nonce, longBytes(sentAt));
        if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(proof, NONCE_BYTES + 8, PROOF_BYTES))) {
            return false;
        }
        long now = clock.millis();
        return seen.inWindow(sentAt, now) && seen.firstSighting(nonce, now);
    }

    /** The challenge a dialer puts in its hello: a fresh nonce ({@link #CHALLENGE_BYTES}). */
    public byte[] dialerChallenge() {
        byte[] nonce = new byte[CHALLENGE_BYTES];
        random.nextBytes(nonce);
        return nonce;
    }

    /**
     * The dialer's answer to the acceptor's hello, once {@link #acceptAcceptor} has checked it: covers the
     * dialer's {@code challenge}, the acceptor's nonce (in {@code acceptorProof}) and both ids.
     */
    public byte[] dialerResponse(String cluster, long dialerId, long acceptorId, byte[] challenge, byte[] acceptorProof) {
        return mac(Role.RESPONSE, cluster, dialerId, challenge, responseInput(acceptorProof, acceptorId));
    }

    /**
     * True if {@code response} is the dialer's valid answer to this acceptor's {@code acceptorProof}, sent in
     * answer to the dialer's {@code challenge}. Nothing to remember: the acceptor's nonce is fresh for each
     * connection.
     */
    public boolean acceptResponse(String cluster, long dialerId, long acceptorId, byte[] challenge,
                                  byte[] acceptorProof, byte[] response) {
        if (response == null || challenge == null || challenge.length != CHALLENGE_BYTES || acceptorProof == null
                || acceptorProof.length != PROOF_BYTES) {
            return false;
        }
        byte[] expected = mac(Role.RESPONSE, cluster, dialerId, challenge, responseInput(acceptorProof, acceptorId));
        return MessageDigest.isEqual(expected, response);
    }

    /** The acceptor's nonce and its id, as the response covers them. */
    private static byte[] responseInput(byte[] acceptorProof, long acceptorId) {
        return ByteBuffer.allocate(NONCE_BYTES + 8).put(acceptorProof, 0, NONCE_BYTES).putLong(acceptorId).array();
    }

    /** The proof an acceptor puts in its answering hello, covering the dialer's proof's nonce (or challenge). */
    public byte[] acceptorProof(String cluster, long nodeId, byte[] dialerProof) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] dialerNonce = Arrays.copyOfRange(dialerProof, 0, NONCE_BYTES);
        return assemble(nonce, clock.millis(), mac(Role.ACCEPTOR, cluster, nodeId, dialerNonce, nonce));
    }

    /** True if {@code proof} is the acceptor's valid answer to this dialer's {@code dialerProof}. */
    public boolean acceptAcceptor(String cluster, long nodeId, byte[] dialerProof, byte[] proof) {
        if (proof == null || proof.length != PROOF_BYTES || dialerProof == null) {
            return false;
        }
        byte[] nonce = Arrays.copyOfRange(proof, 0, NONCE_BYTES);
        byte[] dialerNonce = Arrays.copyOfRange(dialerProof, 0, NONCE_BYTES);
        byte[] expected = mac(Role.ACCEPTOR, cluster, nodeId, dialerNonce, nonce);
        return MessageDigest.isEqual(expected, Arrays.copyOfRange(proof, NONCE_BYTES + 8, PROOF_BYTES));
    }

    private static byte[] assemble(byte[] nonce, long time, byte[] mac) {
        return ByteBuffer.allocate(PROOF_BYTES).put(nonce).putLong(time).put(mac).array();
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private byte[] mac(Role role, String cluster, long nodeId, byte[] a, byte[] b) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(LABEL);
            mac.update((byte) role.ordinal());
            byte[] name = cluster.getBytes(StandardCharsets.UTF_8);
            mac.update((byte) name.length);
            mac.update(name);
            mac.update(longBytes(nodeId));
            mac.update(a);
            mac.update(b);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has HmacSHA256", e);
        }
    }
}
