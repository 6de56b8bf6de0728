package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The replica messages carry each value's kind: round trips of every kind, the layouts of earlier builds
 * (which know no kinds) still read as PLAIN, plain batches are still written in those layouts, and damaged
 * kinds are refused.
 */
class ReplicaCodecKindsTest {

    private static final byte[] SIBLINGS = CausalCodec.encode(DvvSet.<byte[]>empty()
            .update(VersionVector.EMPTY, bytes("a"), 1).update(VersionVector.EMPTY, bytes("b"), 2));
    private static final byte[] COUNT = CausalCodec.encode(PnCounter.ZERO.add(7, 5));

    private static final Entry PLAIN = new Entry(Key.of("p"), bytes("v"), 10, 1, 0);
    private static final Entry TOMBSTONE = new Entry(Key.of("t"), null, 11, 2, 99);
    private static final Entry VERSIONED = new Entry(Key.of("s"), SIBLINGS, 12, 3, 123, ValueKind.VERSIONED);
    private static final Entry COUNTER = new Entry(Key.of("c"), COUNT, 13, 4, 0, ValueKind.COUNTER);

    @Test
    void writesOfEveryKindRoundTrip() {
        List<Entry> batch = List.of(PLAIN, TOMBSTONE, VERSIONED, COUNTER);

        List<Entry> decoded = ReplicaCodec.decodeWrite(ReplicaCodec.encodeWrite(batch));

        assertThat(decoded).hasSize(4);
        for (int i = 0; i < batch.size(); i++) {
            assertSame(decoded.get(i), batch.get(i));
        }
    }

    @Test
    void aBatchWrittenIntoABufferIsItsEncodingOfTheAnnouncedSize() {
        for (List<Entry> batch : List.of(List.of(PLAIN, TOMBSTONE), List.of(PLAIN, VERSIONED, COUNTER), List.<Entry>of())) {
            byte[] encoded = ReplicaCodec.encodeWrite(batch);
            assertThat(ReplicaCodec.writeSize(batch)).isEqualTo(encoded.length);
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(encoded.length + 3).position(3);
            ReplicaCodec.encodeWrite(batch, out);
            assertThat(out.position()).isEqualTo(out.capacity());
            assertThat(java.util.Arrays.copyOfRange(out.array(), 3, out.capacity())).isEqualTo(encoded);
        }
    }

    @Test
    void aBatchOfPlainValuesIsWrittenAsEarlierBuildsWroteItAndTheirBatchesReadAsPlain() {
        byte[] old = oldWrite(PLAIN, TOMBSTONE);

        assertThat(ReplicaCodec.encodeWrite(List.of(PLAIN, TOMBSTONE))).isEqualTo(old);
        List<Entry> decoded = ReplicaCodec.decodeWrite(old);
        assertSame(decoded.get(0), PLAIN);
        assertSame(decoded.get(1), TOMBSTONE);
        assertThat(decoded).extracting(Entry::kind).containsOnly(ValueKind.PLAIN);
    }

    @Test
    void readRepliesOfEveryKindRoundTripAndAnEarlierBuildsReplyReadsAsPlain() {
        List<ReadReply> replies = List.of(ReadReply.MISSING, new ReadReply(5, 6, null),
                new ReadReply(12, 3, VERSIONED), new ReadReply(13, 4, COUNTER), new ReadReply(10, 1, PLAIN));

        List<ReadReply> decoded = ReplicaCodec.decodeReadReply(ReplicaCodec.encodeReadReply(replies));

        assertThat(decoded.get(0).missing()).isTrue();
        assertThat(decoded.get(1).entry()).isNull();
        assertSame(decoded.get(2).entry(), VERSIONED);
        assertSame(decoded.get(3).entry(), COUNTER);
        assertSame(decoded.get(4).entry(), PLAIN);
        // An earlier build's reply: count, then item kind 2 and the entry without a kind.
        byte[] entry = oldWrite(PLAIN);
        ByteBuffer old = ByteBuffer.allocate(4 + 1 + entry.length - 4).putInt(1).put((byte) 2)
                .put(entry, 4, entry.length - 4);
        assertSame(ReplicaCodec.decodeReadReply(old.array()).get(0).entry(), PLAIN);
    }

    @Test
    void damagedKindsAreRefusedNamingTheReason() {
        byte[] good = ReplicaCodec.encodeWrite(List.of(VERSIONED));
        byte[] unknownKind = good.clone();
        unknownKind[unknownKind.length - 1] = 7;
        assertThatThrownBy(() -> ReplicaCodec.decodeWrite(unknownKind)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("entry kind 7");
        byte[] tombstone = ReplicaCodec.encodeWrite(List.of(VERSIONED, TOMBSTONE));
        tombstone[tombstone.length - 1] = ValueKind.VERSIONED;
        assertThatThrownBy(() -> ReplicaCodec.decodeWrite(tombstone)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("for a tombstone");
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
        assertThatThrownBy(() -> ReplicaCodec.decodeWrite(truncated)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("entry kind: truncated");
    }

    /** The write layout of builds before kinds: count, then each entry's fields. */
    private static byte[] oldWrite(Entry... entries) {
        ByteBuffer b = ByteBuffer.allocate(1024).putInt(entries.length);
        for (Entry e : entries) {
            b.putInt(e.key().length()).put(e.key().bytes());
            if (e.value() == null) {
                b.putInt(-1);
            } else {
                b.putInt(e.value().length).put(e.value());
            }
            b.putLong(e.hlc()).putLong(e.nodeId()).putLong(e.expireAt());
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    private static void assertSame(Entry actual, Entry expected) {
        assertThat(actual.key()).isEqualTo(expected.key());
        assertThat(actual.value()).isEqualTo(expected.value());
        assertThat(actual.version()).isEqualTo(expected.version());
        assertThat(actual.expireAt()).isEqualTo(expected.expireAt());
        assertThat(actual.kind()).isEqualTo(expected.kind());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
