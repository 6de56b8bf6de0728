package io.trelliskv.security;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Authenticated encryption of gossip datagrams with AES-GCM and a keyring, as memberlist does it
 * ({@code --gossip-key-file}): every packet is sealed with the primary key and opened with any key of
 * the ring, so keys rotate without downtime — install the new key on every node, make it primary
 * everywhere, then remove the old one.
 *
 * <h2>Packet</h2>
 * <pre>
 *   version (1 byte, {@link #VERSION}) | nonce (12 bytes, random) | AES-GCM( sent-at ms (8) | payload ) with a 16-byte tag
 * </pre>
 * The version byte is authenticated as additional data. A packet that no key opens, or that is too
 * short to hold a tag, is dropped and counted. Beyond memberlist, a replayed packet is dropped too: the
 * sealed send time must lie within {@link #REPLAY_WINDOW_MILLIS} of the receiver's clock, and a nonce
 * seen within that window is refused, so a recorded "node X is dead" cannot be played back later.
 *
 * <p>Thread-safe: the ring is replaced whole under this object's lock; the replay filter has its own lock.
 */
public final class GossipKeyring {

    /** First byte of a sealed packet. Append-only: a new layout takes a new value. */
    public static final byte VERSION = 1;
    /** Bytes of the GCM nonce. */
    static final int NONCE_BYTES = 12;
    /** Bits of the GCM tag. */
    static final int TAG_BITS = 128;
    /** Bytes a sealed packet adds to its payload: version, nonce, send time and tag. */
    public static final int OVERHEAD = 1 + NONCE_BYTES + 8 + TAG_BITS / 8;
    /** How far a packet's send time may be from the receiver's clock, either way (ms). */
    public static final long REPLAY_WINDOW_MILLIS = 30_000;
    /** Most nonces remembered; past it the oldest are forgotten (a flood cannot grow memory without bound). */
    static final int MAX_REMEMBERED_NONCES = 1 << 18;

    /** Why a packet was dropped. */
    public enum Drop {
        /** Shorter than a sealed packet can be, or of another version. */
        MALFORMED,
        /** No key of the ring opens it: a wrong key, or tampered with. */
        UNAUTHENTICATED,
        /** Its nonce was seen within the window, or its send time is outside it. */
        REPLAYED
    }

    /** Thrown by {@link #open} for a packet that must be dropped. */
    public static final class DroppedPacket extends Exception {
        private final Drop reason;

        DroppedPacket(Drop reason) {
            super(reason.name().toLowerCase(java.util.Locale.ROOT), null, false, false);
            this.reason = reason;
        }

        public Drop reason() {
            return reason;
        }
    }

    private volatile List<SecretKeySpec> keys;
    private final SecureRandom random = new SecureRandom();
    /** Nonces seen lately: a packet is not opened twice. */
    private final ReplayWindow seen = new ReplayWindow(REPLAY_WINDOW_MILLIS, MAX_REMEMBERED_NONCES);
    private final Map<Drop, LongAdder> dropped = new HashMap<>();

    /**
     * @param keys the ring, primary first; each 16, 24 or 32 bytes (AES-128/192/256)
     */
    public GossipKeyring(List<byte[]> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("a gossip keyring needs at least one key");
        }
        List<SecretKeySpec> ring = new ArrayList<>();
        for (byte[] k : keys) {
            SecretKeySpec s = spec(k);
            if (ring.stream().noneMatch(r -> MessageDigest.isEqual(r.getEncoded(), k))) {
                ring.add(s); // a key given twice is one key, so one remove takes it out
            }
        }
        this.keys = List.copyOf(ring);
        for (Drop d : Drop.values()) {
            dropped.put(d, new LongAdder());
        }
    }

    private static SecretKeySpec spec(byte[] key) {
        if (key.length != 16 && key.length != 24 && key.length != 32) {
            throw new IllegalArgumentException("gossip key of " + key.length + " bytes (expected: 16, 24 or 32)");
        }
        return new SecretKeySpec(key.clone(), "AES");
    }

    /** Adds a key to the ring (not primary); nothing if it is there already. */
    public synchronized void install(byte[] key) {
        SecretKeySpec s = spec(key);
        if (indexOf(key) < 0) {
            List<SecretKeySpec> next = new ArrayList<>(keys);
            next.add(s);
            keys = List.copyOf(next);
        }
    }

    /** Makes an installed key the primary one: from now on packets are sealed with it. */
    public synchronized void use(byte[] key) {
        int i = indexOf(key);
        if (i < 0) {
            throw new IllegalArgumentException("the key is not installed: install it first");
        }
        List<SecretKeySpec> next = new ArrayList<>(keys);
        next.add(0, next.remove(i));
        keys = List.copyOf(next);
    }

    /** Removes a key from the ring; the primary key cannot be removed. */
    public synchronized void remove(byte[] key) {
        int i = indexOf(key);
        if (i == 0) {
            throw new IllegalArgumentException("the primary key cannot be removed: make another key primary first");
        }
        if (i > 0) {
            List<SecretKeySpec> next = new ArrayList<>(keys);
            next.remove(i);
            keys = List.copyOf(next);
        }
    }

    /** Number of keys in the ring. */
    public int size() {
        return keys.size();
    }

    private int indexOf(byte[] key) {
        List<SecretKeySpec> ring = keys;
        for (int i = 0; i < ring.size(); i++) {
            if (MessageDigest.isEqual(ring.get(i).getEncoded(), key)) {
                return i;
            }
        }
        return -1;
    }

    /** Seals {@code payload} with the primary key, stamped with the sender's clock {@code nowMillis}. */
    public byte[] seal(byte[] payload, long nowMillis) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] plain = new byte[8 + payload.length];
        ByteBuffer.wrap(plain).putLong(nowMillis).put(payload);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, keys.get(0), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(new byte[] {VERSION});
            byte[] sealed = c.doFinal(plain);
            byte[] out = new byte[1 + NONCE_BYTES + sealed.length];
            out[0] = VERSION;
            System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
            System.arraycopy(sealed, 0, out, 1 + NONCE_BYTES, sealed.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is in every Java runtime", e);
        }
    }

    /**
     * Opens a packet sealed by {@link #seal}, on the receiver's clock {@code nowMillis}.
     *
     * @throws DroppedPacket with the reason, counted in {@link #dropped(Drop)}
     */
    public byte[] open(byte[] packet, long nowMillis) throws DroppedPacket {
        if (packet.length < OVERHEAD || packet[0] != VERSION) {
            throw drop(Drop.MALFORMED);
        }
        byte[] nonce = Arrays.copyOfRange(packet, 1, 1 + NONCE_BYTES);
        byte[] plain = null;
        for (SecretKeySpec k : keys) {
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
                c.updateAAD(packet, 0, 1);
                plain = c.doFinal(packet, 1 + NONCE_BYTES, packet.length - 1 - NONCE_BYTES);
                break;
            } catch (AEADBadTagException wrongKey) {
                // try the next key of the ring
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/GCM is in every Java runtime", e);
            }
        }
        if (plain == null) {
            throw drop(Drop.UNAUTHENTICATED);
        }
        long sentAt = ByteBuffer.wrap(plain).getLong();
        if (!seen.inWindow(sentAt, nowMillis) || !seen.firstSighting(nonce, nowMillis)) {
            throw drop(Drop.REPLAYED);
        }
        return Arrays.copyOfRange(plain, 8, plain.length);
    }

    private DroppedPacket drop(Drop reason) {
        dropped.get(reason).increment();
        return new DroppedPacket(reason);
    }

    /** Packets dropped for {@code reason} so far. */
    public long dropped(Drop reason) {
        return dropped.get(reason).sum();
    }
}
