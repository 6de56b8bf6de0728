package io.trelliskv.datadir;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Who a node is across restarts: its id, the cluster it belongs to and the ring tokens it took when
 * it first joined. Kept in {@code <data-dir>/node.properties}, written atomically (temp file + move),
 * so a node restarted with the same data directory keeps its ranges instead of joining as a stranger.
 * The members it knew are kept beside it ({@link KnownMembers}).
 *
 * @param nodeId  random 64-bit id, never reused
 * @param cluster the cluster name it was created in; a restart under another name is refused
 * @param tokens  its ring tokens; empty until allocated
 */
public record NodeIdentity(long nodeId, String cluster, List<Long> tokens) {

    public static final String FILE = "node.properties";

    public NodeIdentity {
        tokens = List.copyOf(tokens);
    }

    public static NodeIdentity fresh(String cluster) {
        long id;
        SecureRandom random = new SecureRandom();
        do {
            id = random.nextLong();
        } while (id == 0);
        return new NodeIdentity(id, cluster, List.of());
    }

    public NodeIdentity withTokens(List<Long> newTokens) {
        return new NodeIdentity(nodeId, cluster, newTokens);
    }

    /**
     * Loads the identity in {@code dir}, or makes a fresh one (not yet saved) if there is none.
     *
     * @throws IOException whose message names the file and what is wrong with it
     */
    public static NodeIdentity loadOrCreate(Path dir, String cluster) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return fresh(cluster);
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (CharacterCodingException e) {
            throw corrupt(file, "not UTF-8 text");
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("cannot read " + file + ": " + (e instanceof IOException io
                    ? DataDirectory.reason(io) : e.getMessage()), e);
        }
        String nodeId = p.getProperty("node_id");
        long id = parseId(file, nodeId);
        String savedCluster = p.getProperty("cluster");
        if (savedCluster == null || savedCluster.isEmpty()) {
            throw corrupt(file, "no cluster name");
        }
        if (!cluster.equals(savedCluster)) {
            throw new IOException("data directory " + dir + " belongs to cluster '" + savedCluster
                    + "', not '" + cluster + "'");
        }
        List<Long> tokens = new ArrayList<>();
        String t = p.getProperty("tokens", "").trim();
        if (!t.isEmpty()) {
            for (String s : t.split(",")) {
                try {
                    tokens.add(Long.parseLong(s.trim()));
                } catch (NumberFormatException e) {
                    throw corrupt(file, "token '" + s.trim() + "' is not a number (expected: a signed 64-bit decimal)");
                }
            }
        }
        return new NodeIdentity(id, savedCluster, tokens);
    }

    private static long parseId(Path file, String nodeId) throws IOException {
        if (nodeId == null || nodeId.isBlank()) {
            throw corrupt(file, "no node_id");
        }
        try {
            long id = Long.parseUnsignedLong(nodeId.trim(), 16);
            if (id == 0) {
                throw corrupt(file, "node_id is 0 (expected: a non-zero id)");
            }
            return id;
        } catch (NumberFormatException e) {
            throw corrupt(file, "node_id '" + nodeId.trim() + "' is not an id (expected: 1 to 16 hex digits)");
        }
    }

    private static IOException corrupt(Path file, String what) {
        return new IOException("cannot read " + file + ": " + what
                + "; the file is damaged (move it away to start this node as a new member)");
    }

    /** Writes the identity to {@code dir} atomically; a failed write leaves the old file and no temporary one. */
    public void save(Path dir) throws IOException {
        Properties p = new Properties();
        p.setProperty("node_id", Long.toHexString(nodeId));
        p.setProperty("cluster", cluster);
        p.setProperty("tokens", String.join(",", tokens.stream().map(String::valueOf).toList()));
        StringWriter w = new StringWriter();
        p.store(w, "TrellisKV node identity: do not edit while the node runs");
        DataDirectory.writeAtomically(dir.resolve(FILE), w.toString().getBytes(StandardCharsets.UTF_8));
    }
}
