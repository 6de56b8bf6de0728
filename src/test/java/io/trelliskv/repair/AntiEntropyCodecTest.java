package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.ring.TokenRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AntiEntropyCodecTest {

    @Test
    void treeRequestAndRepliesRoundTrip() {
        TokenRange range = new TokenRange(Long.MAX_VALUE - 5, Long.MIN_VALUE + 5);
        AntiEntropyCodec.TreeRequest req = AntiEntropyCodec.decodeTreeRequest(
                AntiEntropyCodec.encodeTreeRequest(range, 12, 0xABCDEFL));
        assertThat(req).isEqualTo(new AntiEntropyCodec.TreeRequest(range, 12, 0xABCDEFL));
        assertThat(AntiEntropyCodec.decodeTreeReply(AntiEntropyCodec.encodeTreeReply(true, new long[4]), 4)).isNull();
        long[] leaves = {1, -2, 3, Long.MIN_VALUE};
        assertThat(AntiEntropyCodec.decodeTreeReply(AntiEntropyCodec.encodeTreeReply(false, leaves), 4))
                .containsExactly(leaves);
    }

    @Test
    void keysRequestAndReplyRoundTrip() {
        List<TokenRange> runs = List.of(new TokenRange(1, 2), new TokenRange(-9, 9));
        AntiEntropyCodec.KeysRequest req = AntiEntropyCodec.decodeKeysRequest(AntiEntropyCodec.encodeKeysRequest(runs, 77));
        assertThat(req).isEqualTo(new AntiEntropyCodec.KeysRequest(runs, 77));
        AntiEntropyCodec.KeysReply reply = new AntiEntropyCodec.KeysReply(1, true, 42, List.of(
                new AntiEntropyCodec.KeyVersion(Key.of("a"), 5, 6, 100),
                new AntiEntropyCodec.KeyVersion(Key.of(""), 7, 8, -1)));
        assertThat(AntiEntropyCodec.decodeKeysReply(AntiEntropyCodec.encodeKeysReply(reply), 2)).isEqualTo(reply);
    }

    @Test
    void malformedMessagesSayWhatWasWrong() {
        byte[] tree = AntiEntropyCodec.encodeTreeRequest(new TokenRange(0, 0), 3, 1);
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeRequest(Arrays.copyOf(tree, 10)))
                .isInstanceOf(MalformedMessageException.class).hasMessage("tree request: truncated (10 bytes, expected: >= 25)");
        byte[] deep = tree.clone();
        deep[16] = 21;
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeRequest(deep))
                .hasMessage("tree request: depth 21 (expected: 0 to 20)");
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeRequest(Arrays.copyOf(tree, 26)))
                .hasMessage("tree request: 1 trailing bytes");
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeReply(AntiEntropyCodec.encodeTreeReply(false, new long[2]), 4))
                .hasMessage("tree reply: 2 leaves (expected: 4)");
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeReply(new byte[] {9}, 4))
                .hasMessage("tree reply: kind 9 (expected: 0 or 1)");
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysRequest(ByteBuffer.allocate(8).putInt(0).putInt(0).array()))
                .hasMessageStartingWith("keys request: max keys 0, 0 runs in 0 bytes");
        byte[] reply = AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(3, false, 0, List.of()));
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(reply, 2))
                .hasMessageStartingWith("keys reply: 3 runs done, partial 0 (expected: 0 to 2 runs");
        byte[] partialAtEnd = AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(2, true, 0, List.of()));
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(partialAtEnd, 2))
                .hasMessageContaining("partial only before the last run");
        byte[] oneKey = AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(1, false, 0,
                List.of(new AntiEntropyCodec.KeyVersion(Key.of("k"), 1, 2, 3))));
        assertThatThrownBy(() -> AntiEntropyCodec.decodeKeysReply(Arrays.copyOf(oneKey, oneKey.length - 1), 1))
                .isInstanceOf(MalformedMessageException.class);
    }

    @Test
    void everyPeerCodecRefusesMalformedBytesWithOneExceptionType() {
        assertThatThrownBy(() -> AntiEntropyCodec.decodeTreeReply(new byte[] {9}, 4))
                .isInstanceOf(MalformedMessageException.class);
        assertThatThrownBy(() -> StreamCodec.decodeRequest(new byte[3]))
                .isInstanceOf(MalformedMessageException.class).hasMessageStartingWith("stream request: 3 bytes");
        assertThatThrownBy(() -> ReplicaCodec.decodeReadReply(new byte[] {1}))
                .isInstanceOf(MalformedMessageException.class);
        assertThatThrownBy(() -> ReplicaCodec.decodeWrite(new byte[] {0, 0, 0, 5}))
                .isInstanceOf(MalformedMessageException.class);
    }
}
