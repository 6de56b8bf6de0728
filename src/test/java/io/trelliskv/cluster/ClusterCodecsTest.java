package io.trelliskv.cluster;

import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.datadir.NodeIdentity;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.request.ForwardCodec;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The small formats a node keeps or sends: its identity file, its gossiped tokens, forwarded commands. */
class ClusterCodecsTest {

    @Test
    void tokenMetaRoundTripsAndRejectsGarbage() {
        List<Long> tokens = List.of(Long.MIN_VALUE, -1L, 0L, 42L, Long.MAX_VALUE);
        assertThat(TokenMeta.decode(TokenMeta.encode(tokens))).isEqualTo(tokens);
        assertThat(TokenMeta.encode(List.of())).hasSize(4 + 16);
        assertThat(TokenMeta.decode(new byte[0])).isEmpty();
        assertThat(TokenMeta.decode(new byte[] {9, 0, 0})).as("unknown version").isEmpty();
        byte[] truncated = Arrays.copyOf(TokenMeta.encode(tokens), 20);
        assertThat(TokenMeta.decode(truncated)).isEmpty();
    }

    @Test
    void forwardedCommandsRoundTrip() {
        byte[][] args = {"SET".getBytes(StandardCharsets.UTF_8), new byte[0], {0, (byte) 0xff, '\r', '\n'}};
        Version[] floors = {null, new Version(Hlc.pack(1_700_000_000_000L, 3), 0x2aL)};
        ForwardCodec.Request r = ForwardCodec.decodeRequest(ForwardCodec.encode(
                new ForwardCodec.Request(3, ConsistencyLevel.ONE, ConsistencyLevel.ALL, 77L, floors, args)));
        assertThat(r.protocol()).isEqualTo(3);
        assertThat(r.readLevel()).isEqualTo(ConsistencyLevel.ONE);
        assertThat(r.writeLevel()).isEqualTo(ConsistencyLevel.ALL);
        assertThat(r.stream()).isEqualTo(77L);
        assertThat(r.floors()).containsExactly(floors);
        assertThat(r.args()).isDeepEqualTo(args);
        ForwardCodec.Request plain = ForwardCodec.decodeRequest(ForwardCodec.encode(
                new ForwardCodec.Request(2, null, null, 0, null, args)));
        assertThat(plain.readLevel()).isNull();
        assertThat(plain.writeLevel()).isNull();
        assertThat(plain.floors()).isNull();
        assertThat(plain.user()).isNull();

        ForwardCodec.Request named = new ForwardCodec.Request(3, null, ConsistencyLevel.QUORUM, 9L, floors, args,
                "alice-ü");
        ForwardCodec.Request withUser = ForwardCodec.decodeRequest(ForwardCodec.encode(named));
        assertThat(withUser.user()).isEqualTo("alice-ü");
        assertThat(withUser.protocol()).isEqualTo(3);
        assertThat(withUser.floors()).containsExactly(floors);
        assertThat(withUser.args()).isDeepEqualTo(args);
        // For a peer of the build before users: the same request without the user, in the bytes that build wrote.
        byte[] earlier = ForwardCodec.payload(named).withoutUser().toBytes();
        assertThat(earlier).isEqualTo(ForwardCodec.encode(new ForwardCodec.Request(3, null, ConsistencyLevel.QUORUM,
                9L, floors, args)));
        assertThat(earlier[0]).as("the protocol byte as that build reads it").isEqualTo((byte) 3);

        ForwardCodec.Reply reply = ForwardCodec.decodeReply(ForwardCodec.encode(
                new ForwardCodec.Reply("+OK\r\n".getBytes(StandardCharsets.UTF_8), new long[] {-5, 7, 9})));
        assertThat(reply.written()).containsExactly(-5, 7, 9);
        assertThat(new String(reply.resp(), StandardCharsets.UTF_8)).isEqualTo("+OK\r\n");
    }

    @Test
    void malformedForwardedCommandsAreRefused() {
        byte[] good = ForwardCodec.encode(new ForwardCodec.Request(2, null, ConsistencyLevel.QUORUM, 5,
                new Version[] {new Version(1, 2)}, new byte[][] {"GET".getBytes(StandardCharsets.UTF_8)}));
        for (int cut = 0; cut < good.length; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> ForwardCodec.decodeRequest(truncated)).isInstanceOf(MalformedMessageException.class);
        }
        byte[] badProtocol = good.clone();
        badProtocol[0] = 7;
        assertThatThrownBy(() -> ForwardCodec.decodeRequest(badProtocol)).hasMessageContaining("protocol 7");
        byte[] badLevel = good.clone();
        badLevel[1] = 9;
        assertThatThrownBy(() -> ForwardCodec.decodeRequest(badLevel)).hasMessageContaining("level code 9");
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> ForwardCodec.decodeRequest(trailing)).hasMessageContaining("trailing");
        byte[] hugeCount = good.clone();
        hugeCount[11] = 0x7f; // the floor count
        assertThatThrownBy(() -> ForwardCodec.decodeRequest(hugeCount)).isInstanceOf(MalformedMessageException.class);
        assertThatThrownBy(() -> ForwardCodec.decodeReply(new byte[] {0, 0, 0, 9})).isInstanceOf(MalformedMessageException.class);

        byte[] named = ForwardCodec.encode(new ForwardCodec.Request(2, null, null, 5, null,
                new byte[][] {"GET".getBytes(StandardCharsets.UTF_8)}, "bob"));
        for (int cut = 0; cut < named.length; cut++) {
            byte[] truncated = Arrays.copyOf(named, cut);
            assertThatThrownBy(() -> ForwardCodec.decodeRequest(truncated)).isInstanceOf(MalformedMessageException.class);
        }
        byte[] longName = named.clone();
        longName[14] = 0x7f; // the user name's length
        assertThatThrownBy(() -> ForwardCodec.decodeRequest(longName)).hasMessageContaining("user name");
    }

    @Test
    void identitySurvivesARestartAndBelongsToOneCluster(@TempDir Path dir) throws IOException {
        NodeIdentity fresh = NodeIdentity.loadOrCreate(dir, "alpha");
        assertThat(fresh.nodeId()).isNotZero();
        assertThat(fresh.tokens()).isEmpty();
        fresh.withTokens(List.of(-5L, 7L)).save(dir);

        NodeIdentity again = NodeIdentity.loadOrCreate(dir, "alpha");
        assertThat(again).isEqualTo(new NodeIdentity(fresh.nodeId(), "alpha", List.of(-5L, 7L)));
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(dir, "beta"))
                .isInstanceOf(IOException.class).hasMessageContaining("belongs to cluster 'alpha'");

        Files.writeString(dir.resolve(NodeIdentity.FILE), "node_id=zz\ncluster=alpha\n");
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(dir, "alpha"))
                .isInstanceOf(IOException.class).hasMessageContaining("cannot read");
    }
}
