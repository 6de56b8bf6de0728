package io.trelliskv.datadir;

import io.trelliskv.common.Address;
import io.trelliskv.common.ParseException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The members this node knew, kept in {@code <data-dir>/members} so that a restarted node rejoins the
 * cluster it knew whatever its seeds: a node restarted without {@code --seeds} joins through them
 * instead of starting a new cluster of one (see {@code cluster.ClusterMember}, "Joining").
 *
 * <p>The file has one member a line, {@code <hex id> <host:port>}, after a comment line. It is rewritten
 * atomically ({@link DataDirectory#writeAtomically}) whenever the members change, at most once a
 * {@code cluster.ClusterMember} save period, and holds at most {@link #MAX} members: the cluster's seeds in
 * effect, since joining needs one answer.
 *
 * @param members id and address of each member, this node excluded, in the order saved
 */
public record KnownMembers(List<Known> members) {

    static final String FILE = "members";
    /** Most members kept: any one live member is enough to rejoin through. */
    static final int MAX = 64;

    /** One member: its id and where it listens. */
    public record Known(long id, Address address) {
    }

    public KnownMembers {
        members = List.copyOf(members.size() > MAX ? members.subList(0, MAX) : members);
    }

    public static KnownMembers none() {
        return new KnownMembers(List.of());
    }

    public List<Address> addresses() {
        return members.stream().map(Known::address).distinct().toList();
    }

    /** Where to join through: the seeds given if any, else the members known. */
    public List<Address> joinTargets(List<Address> seeds) {
        return seeds.isEmpty() ? addresses() : seeds;
    }

    /**
     * The members saved in {@code dir}; none if there is no file.
     *
     * @throws IOException naming the file, the line and what is wrong with it
     */
    public static KnownMembers load(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return none();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read " + file + ": " + DataDirectory.reason(e), e);
        }
        List<Known> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+");
            try {
                if (parts.length != 2) {
                    throw new NumberFormatException("expected: <hex id> <host:port>");
                }
                out.add(new Known(Long.parseUnsignedLong(parts[0], 16), Address.parse(parts[1])));
            } catch (NumberFormatException | ParseException e) {
                throw new IOException("cannot read " + file + ": line " + (i + 1) + " '" + line
                        + "' is not a member (expected: <hex id> <host:port>); the file is damaged (move it away, and"
                        + " start this node with --seeds)", e);
            }
        }
        return new KnownMembers(out);
    }

    /** Writes the members to {@code dir} atomically. */
    public void save(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder("# TrellisKV: the members this node knew, to rejoin through\n");
        for (Known k : members) {
            sb.append(Long.toHexString(k.id())).append(' ').append(k.address()).append('\n');
        }
        DataDirectory.writeAtomically(dir.resolve(FILE), sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
