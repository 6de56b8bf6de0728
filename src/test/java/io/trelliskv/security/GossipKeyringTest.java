package io.trelliskv.security;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GossipKeyringTest {

    private static byte[] key(int seed, int length) {
        byte[] k = new byte[length];
        new Random(seed).nextBytes(k);
        return k;
    }

    private static final byte[] PAYLOAD = "ping from 10.0.0.1 incarnation 7".getBytes();
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void aSealedPacketOpensWithTheSameKeyAndHidesItsPayload() throws Exception {
        GossipKeyring ring = new GossipKeyring(List.of(key(1, 32)));
        byte[] packet = ring.seal(PAYLOAD, NOW);
        assertThat(packet).hasSize(PAYLOAD.length + GossipKeyring.OVERHEAD);
        assertThat(new String(packet, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain("incarnation");
        assertThat(new GossipKeyring(List.of(key(1, 32))).open(packet, NOW + 5)).isEqualTo(PAYLOAD);
    }

    @Test
    void aWrongKeyATamperedByteAndEveryTruncationAreDroppedAndCounted() {
        GossipKeyring sender = new GossipKeyring(List.of(key(1, 16)));
        GossipKeyring other = new GossipKeyring(List.of(key(2, 16)));
        byte[] packet = sender.seal(PAYLOAD, NOW);
        assertThatThrownBy(() -> other.open(packet, NOW)).isInstanceOfSatisfying(GossipKeyring.DroppedPacket.class,
                d -> assertThat(d.reason()).isEqualTo(GossipKeyring.Drop.UNAUTHENTICATED));
        GossipKeyring receiver = new GossipKeyring(List.of(key(1, 16)));
        for (int i = 0; i < packet.length; i++) {
            byte[] flipped = packet.clone();
            flipped[i] ^= 0x10;
            assertThatThrownBy(() -> receiver.open(flipped, NOW)).as("bit flipped in byte %d", i)
                    .isInstanceOf(GossipKeyring.DroppedPacket.class);
        }
        for (int len = 0; len < packet.length; len++) {
            byte[] cut = Arrays.copyOf(packet, len);
            assertThatThrownBy(() -> receiver.open(cut, NOW)).as("cut to %d bytes", len)
                    .isInstanceOf(GossipKeyring.DroppedPacket.class);
        }
        assertThat(receiver.dropped(GossipKeyring.Drop.MALFORMED)).isGreaterThan(0);
        assertThat(receiver.dropped(GossipKeyring.Drop.UNAUTHENTICATED)).isGreaterThan(0);
        assertThat(other.dropped(GossipKeyring.Drop.UNAUTHENTICATED)).isEqualTo(1);
    }

    @Test
    void aReplayedPacketIsDroppedAndSoIsOneFromOutsideTheWindow() throws Exception {
        GossipKeyring ring = new GossipKeyring(List.of(key(1, 32)));
        byte[] packet = ring.seal(PAYLOAD, NOW);
        assertThat(ring.open(packet, NOW)).isEqualTo(PAYLOAD);
        assertThatThrownBy(() -> ring.open(packet, NOW + 1)).isInstanceOfSatisfying(GossipKeyring.DroppedPacket.class,
                d -> assertThat(d.reason()).isEqualTo(GossipKeyring.Drop.REPLAYED));
        // Later the nonce is forgotten, but the send time is then out of the window.
        long later = NOW + 3 * GossipKeyring.REPLAY_WINDOW_MILLIS;
        assertThatThrownBy(() -> ring.open(packet, later)).isInstanceOf(GossipKeyring.DroppedPacket.class);
        byte[] fromTheFuture = ring.seal(PAYLOAD, NOW + GossipKeyring.REPLAY_WINDOW_MILLIS + 1);
        assertThatThrownBy(() -> ring.open(fromTheFuture, NOW)).isInstanceOf(GossipKeyring.DroppedPacket.class);
        assertThat(ring.dropped(GossipKeyring.Drop.REPLAYED)).isEqualTo(3);
        byte[] withinSkew = ring.seal(PAYLOAD, NOW + GossipKeyring.REPLAY_WINDOW_MILLIS - 1);
        assertThat(ring.open(withinSkew, NOW)).isEqualTo(PAYLOAD);
    }

    @Test
    void keysRotateWithoutAPacketLost() throws Exception {
        byte[] oldKey = key(1, 32);
        byte[] newKey = key(2, 32);
        GossipKeyring a = new GossipKeyring(List.of(oldKey));
        GossipKeyring b = new GossipKeyring(List.of(oldKey));
        long t = NOW;
        // 1. install the new key everywhere: both still seal with the old one and open both.
        a.install(newKey);
        b.install(newKey);
        assertThat(b.open(a.seal(PAYLOAD, ++t), t)).isEqualTo(PAYLOAD);
        // 2. make it primary, one node at a time: packets of either kind still open everywhere.
        a.use(newKey);
        assertThat(b.open(a.seal(PAYLOAD, ++t), t)).isEqualTo(PAYLOAD);
        assertThat(a.open(b.seal(PAYLOAD, ++t), t)).isEqualTo(PAYLOAD);
        b.use(newKey);
        // 3. remove the old key everywhere.
        assertThatThrownBy(() -> a.remove(newKey)).hasMessageContaining("primary key cannot be removed");
        a.remove(oldKey);
        b.remove(oldKey);
        assertThat(a.open(b.seal(PAYLOAD, ++t), t)).isEqualTo(PAYLOAD);
        GossipKeyring stale = new GossipKeyring(List.of(oldKey));
        long at = ++t;
        assertThatThrownBy(() -> a.open(stale.seal(PAYLOAD, at), at)).isInstanceOf(GossipKeyring.DroppedPacket.class);
        assertThatThrownBy(() -> a.use(oldKey)).hasMessageContaining("not installed");
        assertThatThrownBy(() -> new GossipKeyring(List.of(new byte[20]))).hasMessageContaining("expected: 16, 24 or 32");
    }

    @Test
    void aKeyGivenTwiceIsOneKeyAndOneRemoveTakesItOut() throws Exception {
        byte[] oldKey = key(1, 32);
        byte[] newKey = key(2, 32);
        GossipKeyring ring = new GossipKeyring(List.of(newKey, oldKey, oldKey));
        assertThat(ring.size()).isEqualTo(2);
        ring.remove(oldKey);
        long at = NOW + 1;
        assertThatThrownBy(() -> ring.open(new GossipKeyring(List.of(oldKey)).seal(PAYLOAD, at), at))
                .isInstanceOf(GossipKeyring.DroppedPacket.class);
    }
}
