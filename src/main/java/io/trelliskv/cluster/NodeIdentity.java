package io.trelliskv.cluster;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Who a node is across restarts: its id, the cluster it belongs to and the ring tokens it took when
 * it first joined. Kept in {@code <data-dir>/node.properties}, written atomically (temp file + move),
 * so a node restarted with the same data directory keeps its ranges instead of joining as a stranger.
 *
 * @param nodeId  random 64-bit id, never reused
 * @param cluster the cluster name it was created in; a restart under another name is refused
 * @param tokens  its ring tokens; empty until allocated
 */
public record NodeIdentity(long nodeId, String cluster, List<Long> tokens) {

    static final String FILE = "node.properties";

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

    NodeIdentity withTokens(List<Long> newTokens) {
        return new NodeIdentity(nodeId, cluster, newTokens);
    }

    /** Loads the identity in {@code dir}, or makes a fresh one (not yet saved) if there is none. */
    public static NodeIdentity loadOrCreate(Path dir, String cluster) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return fresh(cluster);
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        String nodeId = p.getProperty("node_id");
        if (nodeId == null) {
            throw new IOException("cannot read " + file + ": no node_id");
        }
        try {
            long id = Long.parseUnsignedLong(nodeId, 16);
            String savedCluster = p.getProperty("cluster");
            if (!cluster.equals(savedCluster)) {
                throw new IOException("data directory " + dir + " belongs to cluster '" + savedCluster
                        + "', not '" + cluster + "'");
            }
            List<Long> tokens = new ArrayList<>();
            String t = p.getProperty("tokens", "").trim();
            if (!t.isEmpty()) {
                for (String s : t.split(",")) {
                    tokens.add(Long.parseLong(s.trim()));
                }
            }
            return new NodeIdentity(id, savedCluster, tokens);
        } catch (NumberFormatException e) {
            throw new IOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Properties p = new Properties();
        p.setProperty("node_id", Long.toHexString(nodeId));
        p.setProperty("cluster", cluster);
        p.setProperty("tokens", String.join(",", tokens.stream().map(String::valueOf).toList()));
        Path tmp = dir.resolve(FILE + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "TrellisKV node identity: do not edit while the node runs");
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
