package io.trelliskv.node;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.security.GossipKeyring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The gossip key file and GOSSIPKEY: what the file holds after each change, and who may read it. */
class GossipKeysTest {

    private static final byte[] PAYLOAD = "membership".getBytes(StandardCharsets.UTF_8);

    private static String key(int fill) {
        byte[] k = new byte[32];
        java.util.Arrays.fill(k, (byte) fill);
        return Base64.getEncoder().encodeToString(k);
    }

    private static String call(CommandTable table, String... words) {
        byte[][] args = new byte[words.length][];
        for (int i = 0; i < words.length; i++) {
            args[i] = words[i].getBytes(StandardCharsets.US_ASCII);
        }
        ByteBuf buf = Unpooled.buffer();
        RespWriter out = new RespWriter();
        out.target(buf);
        try {
            table.find(args[0]).handler().handle(ClientConnection.detached(0), args, out);
        } catch (CommandException e) {
            buf.clear();
            out.error(e.getMessage());
        }
        String reply = buf.toString(StandardCharsets.US_ASCII);
        buf.release();
        return reply;
    }

    /** A key written twice in the file is one key: REMOVE takes it out of the ring, and packets sealed with it drop. */
    @Test
    void aKeyGivenTwiceIsRemovedAtOnce(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gossip.keys");
        Files.write(file, List.of(key(2), key(1), key(1)));
        GossipKeys keys = GossipKeys.load(file);
        CommandTable table = new CommandTable();
        keys.registerInto(table);
        GossipKeyring old = new GossipKeyring(List.of(Base64.getDecoder().decode(key(1))));
        long now = 1_000_000;
        assertThat(keys.keyring().open(old.seal(PAYLOAD, now), now)).isEqualTo(PAYLOAD);

        assertThat(call(table, "GOSSIPKEY", "REMOVE", key(1))).isEqualTo("+OK\r\n");

        assertThatThrownBy(() -> keys.keyring().open(old.seal(PAYLOAD, now + 1), now + 1))
                .isInstanceOf(GossipKeyring.DroppedPacket.class);
        assertThat(keys.keyring().size()).isEqualTo(1);
        assertThat(Files.readAllLines(file)).filteredOn(l -> !l.startsWith("#")).containsExactly(key(2));
    }

    /** The file GOSSIPKEY writes back holds secrets: only its owner may read it, whatever the umask. */
    @Test
    void theKeyFileIsWrittenReadableByItsOwnerOnly(@TempDir Path dir) throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        Path file = dir.resolve("gossip.keys");
        Files.write(file, List.of(key(1)));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        CommandTable table = new CommandTable();
        GossipKeys.load(file).registerInto(table);

        assertThat(call(table, "GOSSIPKEY", "INSTALL", key(2))).isEqualTo("+OK\r\n");

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readAllLines(file)).filteredOn(l -> !l.startsWith("#")).containsExactly(key(1), key(2));
    }
}
