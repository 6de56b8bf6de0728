package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Anti-entropy tells apart two replicas that joined different values under one version: the Merkle tree
 * hashes a joinable value's digest, and keys replies carry the digests in a trailing section that a reply
 * of plain values (and an earlier build's reply) does without. Streams carry the kinds as replica writes do.
 */
class JoinedValuesRepairTest {

    private static final long NOW = 1_700_000_000_000L;
    private static final byte[] ONE = siblings("a");
    private static final byte[] TWO = siblings("a", "b");

    @Test
    void treesDifferWhenJoinedValuesDifferUnderOneVersionAndNotForPlainValues() {
        assertThat(root(new Entry(Key.of("k"), ONE, 5, 1, 0, ValueKind.VERSIONED)))
                .isNotEqualTo(root(new Entry(Key.of("k"), TWO, 5, 1, 0, ValueKind.VERSIONED)));
        assertThat(root(new Entry(Key.of("k"), TWO, 5, 1, 0, ValueKind.VERSIONED)))
                .isEqualTo(root(new Entry(Key.of("k"), TWO, 5, 1, 0, ValueKind.VERSIONED)));
        // A version names one plain write: its bytes are not hashed.
        assertThat(root(new Entry(Key.of("k"), ONE, 5, 1, 0))).isEqualTo(root(new Entry(Key.of("k"), TWO, 5, 1, 0)));
        assertThat(MerkleTree.valueDigest(new Entry(Key.of("k"), ONE, 5, 1, 0), NOW)).isZero();
        assertThat(MerkleTree.valueDigest(new Entry(Key.of("k"), ONE, 5, 1, NOW - 1, ValueKind.VERSIONED), NOW)).isZero();
    }

    @Test
    void keysRepliesCarryDigestsOnlyWhereAValueJoins() {
        AntiEntropyCodec.KeysReply reply = new AntiEntropyCodec.KeysReply(1, false, 0, List.of(
                new AntiEntropyCodec.KeyVersion(Key.of("plain"), 5, 6, 10),
                new AntiEntropyCodec.KeyVersion(Key.of("joined"), 7, 8, 20, 0x1234_5678_9ABCL),
                new AntiEntropyCodec.KeyVersion(Key.of("gone"), 9, 8, -1)));

        assertThat(AntiEntropyCodec.decodeKeysReply(AntiEntropyCodec.encodeKeysReply(reply), 1)).isEqualTo(reply);

        AntiEntropyCodec.KeysReply plain = new AntiEntropyCodec.KeysReply(1, false, 0, List.of(
                new AntiEntropyCodec.KeyVersion(Key.of("plain"), 5, 6, 10)));
        byte[] encoded = AntiEntropyCodec.encodeKeysReply(plain);
        assertThat(encoded).hasSize(4 + 1 + 8 + 4 + AntiEntropyCodec.KEY_VERSION_FIXED + "plain".length());
        assertThat(AntiEntropyCodec.decodeKeysReply(encoded, 1)).isEqualTo(plain);
    }

    @Test
    void damagedDigestsAreRefused() {
        AntiEntropyCodec.KeysReply reply = new AntiEntropyCodec.KeysReply(1, false, 0, List.of(
                new AntiEntropyCodec.KeyVersion(Key.of("joined"), 7, 8, 20, 42)));
        byte[] good = AntiEntropyCodec.encodeKeysReply(reply);
        byte[] badIndex = good.clone();
        ByteBuffer.wrap(badIndex).putInt(good.length - 12, 1);
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(badIndex, 1)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("digest 0 for key 1");
        byte[] zero = good.clone();
        ByteBuffer.wrap(zero).putLong(good.length - 8, 0);
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(zero, 1)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("is 0");
        byte[] truncated = Arrays.copyOf(good, good.length - 1);
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(truncated, 1)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("digests in");
    }

    @Test
    void streamedBatchesKeepTheirValuesKinds() {
        Entry siblings = new Entry(Key.of("s"), TWO, 5, 1, 0, ValueKind.VERSIONED);
        Entry plain = new Entry(Key.of("p"), ONE, 6, 1, 0);

        StreamCodec.Batch back = StreamCodec.decodeReply(StreamCodec.encodeReply(
                new StreamCodec.Batch(List.of(siblings, plain), 0, 77, true)));

        assertThat(back.entries()).extracting(Entry::kind).containsExactly(ValueKind.VERSIONED, ValueKind.PLAIN);
        assertThat(back.entries().get(0).value()).isEqualTo(TWO);
        assertThat(back.next()).isEqualTo(77);
    }

    private static long root(Entry e) {
        MerkleTree tree = new MerkleTree(TokenRange.fullRing(0), 2);
        tree.add(e, NOW);
        return tree.root();
    }

    private static byte[] siblings(String... values) {
        DvvSet<byte[]> s = DvvSet.empty();
        for (String v : values) {
            s = s.update(VersionVector.EMPTY, v.getBytes(StandardCharsets.UTF_8), 1);
        }
        return CausalCodec.encode(s);
    }
}
