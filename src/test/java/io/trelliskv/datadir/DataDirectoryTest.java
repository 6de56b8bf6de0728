package io.trelliskv.datadir;

import io.trelliskv.common.Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The data directory's checks, lock and atomic files, and what the files kept in it say when damaged. */
class DataDirectoryTest {

    @TempDir
    Path tmp;

    @Test
    void aFileIsRefusedWithItsReason() throws IOException {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        assertThatThrownBy(() -> DataDirectory.open(file)).hasMessage("not a directory (it is a file)");
    }

    @Test
    void aDirectoryInUseIsRefusedUntilReleased() throws IOException {
        Path dir = tmp.resolve("d");
        try (DataDirectory first = DataDirectory.open(dir)) {
            assertThat(first.path()).isEqualTo(dir);
            assertThatThrownBy(() -> DataDirectory.open(dir))
                    .hasMessageStartingWith("in use by another running node")
                    .hasMessageContaining(dir.resolve(DataDirectory.LOCK_FILE).toString());
        }
        DataDirectory.open(dir).close();
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryOne() throws IOException {
        Path target = tmp.resolve("t");
        Files.createDirectories(target.resolve("not-empty")); // a move over a non-empty directory fails
        assertThatThrownBy(() -> DataDirectory.writeAtomically(target, "new".getBytes(StandardCharsets.UTF_8)))
                .hasMessageStartingWith("cannot write " + target + ": ");
        assertThat(tmp.resolve("t.tmp")).doesNotExist();
        assertThat(target.resolve("not-empty")).isDirectory();
    }

    @Test
    void aDamagedIdentityNamesWhatIsWrong() throws IOException {
        Path file = tmp.resolve(NodeIdentity.FILE);
        Files.write(file, new byte[] {0, 1, 2, (byte) 0xff, '\n'});
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(tmp, "alpha"))
                .hasMessage("cannot read " + file + ": not UTF-8 text; the file is damaged (move it away to start"
                        + " this node as a new member)");
        Files.writeString(file, "# nothing\n");
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(tmp, "alpha")).hasMessageContaining(": no node_id;");
        Files.writeString(file, "node_id=12\n");
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(tmp, "alpha")).hasMessageContaining("no cluster name");
        Files.writeString(file, "node_id=12\ncluster=alpha\ntokens=5,x\n");
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(tmp, "alpha"))
                .hasMessageContaining("token 'x' is not a number");
    }

    @Test
    void knownMembersRoundTripBoundedAndDamagedNamed() throws IOException {
        assertThat(KnownMembers.load(tmp).members()).isEmpty();
        KnownMembers known = new KnownMembers(List.of(new KnownMembers.Known(0xabL, new Address("10.0.0.1", 7000)),
                new KnownMembers.Known(-1L, new Address("::1", 7001))));
        known.save(tmp);
        assertThat(KnownMembers.load(tmp)).isEqualTo(known);
        assertThat(known.joinTargets(List.of())).containsExactly(new Address("10.0.0.1", 7000), new Address("::1", 7001));
        assertThat(known.joinTargets(List.of(new Address("h", 1)))).containsExactly(new Address("h", 1));
        List<KnownMembers.Known> many = new java.util.ArrayList<>();
        for (int i = 1; i <= KnownMembers.MAX + 5; i++) {
            many.add(new KnownMembers.Known(i, new Address("10.0.1." + (i % 250), 7000 + i)));
        }
        assertThat(new KnownMembers(many).members()).hasSize(KnownMembers.MAX);
        Files.writeString(tmp.resolve(KnownMembers.FILE), "ab 10.0.0.1:7000\nnonsense\n");
        assertThatThrownBy(() -> KnownMembers.load(tmp)).hasMessageContaining("line 2 'nonsense' is not a member");
    }
}
