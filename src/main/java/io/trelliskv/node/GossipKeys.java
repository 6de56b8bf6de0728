package io.trelliskv.node;

import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.ConfigException;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.security.GossipKeyring;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * The gossip keyring's file ({@code --gossip-key-file}) and the command that rotates keys without
 * downtime, memberlist's way: {@code GOSSIPKEY INSTALL key} on every node, then {@code GOSSIPKEY USE key}
 * on every node, then {@code GOSSIPKEY REMOVE oldkey} on every node ({@code GOSSIPKEY LIST} shows the
 * keys' fingerprints, the primary first). Keys are base64; every change is written back to the file, so
 * a restarted node comes back with the ring it had. The keys themselves are never shown or logged.
 */
final class GossipKeys {

    private final GossipKeyring keyring;
    private final Path file;
    /** The keys in the ring's order, primary first, as in the file. */
    private final List<byte[]> keys;

    private GossipKeys(GossipKeyring keyring, Path file, List<byte[]> keys) {
        this.keyring = keyring;
        this.file = file;
        this.keys = keys;
    }

    /** Reads the key file; {@link ConfigException} naming the file, the line and the reason if it cannot be used. */
    static GossipKeys load(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw ConfigException.unusable("--gossip-key-file", file, e.getMessage() == null ? e.toString() : e.getMessage());
        }
        List<byte[]> keys = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                byte[] key = decode(line);
                if (keys.stream().noneMatch(k -> MessageDigest.isEqual(k, key))) {
                    keys.add(key); // a key given twice is one key: REMOVE must take it out of the ring at once
                }
            } catch (IllegalArgumentException e) {
                throw ConfigException.unusable("--gossip-key-file", file, "line " + (i + 1) + ": " + e.getMessage());
            }
        }
        if (keys.isEmpty()) {
            throw ConfigException.unusable("--gossip-key-file", file, "no key in the file");
        }
        return new GossipKeys(new GossipKeyring(keys), file, keys);
    }

    GossipKeyring keyring() {
        return keyring;
    }

    private static byte[] decode(String base64) {
        byte[] key;
        try {
            key = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not base64: " + e.getMessage());
        }
        if (key.length != 16 && key.length != 24 && key.length != 32) {
            throw new IllegalArgumentException("a key of " + key.length + " bytes (expected: 16, 24 or 32)");
        }
        return key;
    }

    /** A key's fingerprint: the first 16 hex digits of its SHA-256, which names it without revealing it. */
    static String fingerprint(byte[] key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    void registerInto(CommandTable t) {
        t.register("gossipkey", -2, EnumSet.of(ADMIN, LOADING, STALE), this::gossipKey);
    }

    private synchronized void gossipKey(ClientConnection c, byte[][] a, RespWriter out) {
        String sub = new String(a[1], StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
        if (sub.equals("list") && a.length == 2) {
            out.array(keys.size());
            keys.forEach(k -> out.bulk(fingerprint(k)));
            return;
        }
        if (a.length != 3 || !List.of("install", "use", "remove").contains(sub)) {
            throw new CommandException("ERR usage: GOSSIPKEY LIST | INSTALL key | USE key | REMOVE key (keys in base64)");
        }
        byte[] key;
        try {
            key = decode(new String(a[2], StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new CommandException("ERR invalid gossip key: " + e.getMessage());
        }
        int at = indexOf(key);
        try {
            switch (sub) {
                case "install" -> {
                    keyring.install(key);
                    if (at < 0) {
                        keys.add(key);
                    }
                }
                case "use" -> {
                    keyring.use(key);
                    keys.add(0, keys.remove(at));
                }
                default -> {
                    keyring.remove(key);
                    if (at >= 0) {
                        keys.remove(at);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
        save();
        out.ok();
    }

    /**
     * Creates {@code path} empty, readable and writable by its owner only where the file system has POSIX
     * permissions: the keys written into it next are never readable by others, not even for a moment.
     */
    private static void ownerOnly(Path path) throws IOException {
        try {
            Files.createFile(path, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(path); // no POSIX permissions here: the file system's own rules apply
        }
    }

    private int indexOf(byte[] key) {
        for (int i = 0; i < keys.size(); i++) {
            if (MessageDigest.isEqual(keys.get(i), key)) {
                return i;
            }
        }
        return -1;
    }

    /** Writes the ring back to its file, atomically, readable by the owner only as it holds secrets. */
    private void save() {
        List<String> lines = new ArrayList<>();
        lines.add("# gossip keys, base64, the primary first (written by GOSSIPKEY)");
        keys.forEach(k -> lines.add(Base64.getEncoder().encodeToString(k)));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            ownerOnly(tmp);
            Files.write(tmp, lines);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CommandException("ERR the keyring changed but could not be written to " + file + ": "
                    + e.getMessage() + "; a restart would load the old keys");
        }
    }
}
