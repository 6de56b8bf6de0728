package io.trelliskv.harness;

import io.trelliskv.testing.TestCertificates;
import redis.clients.jedis.ClientSetInfoConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;

/**
 * How the workload's clients reach a node. By default: the plain client port ({@link Nodes#PORT}) as the
 * {@code default} user. With {@code --secure yes}: the node's TLS port ({@link #TLS_PORT}), trusting the
 * run's CA and showing its client certificate, logged in as the ACL user {@value #USER}, which may run the
 * workloads' commands ({@code @read} and {@code @write} but not {@code @dangerous}, and {@code CONSISTENCY})
 * on every key and nothing else; a node that lost the user or the client port would fail every operation. The clients check the CA
 * chain, not the host name: the run's certificate names 127.0.0.1, the nodes listen on namespace
 * addresses. The harness's own connections (INFO, MEMBERS, DEBUG, REPLICAS, DECOMMISSION) stay on the
 * plain port as the {@code default} user, open to all as before.
 */
final class ClientAccess {

    /** The TLS client port of every node with {@code --secure yes}, inside its own namespace. */
    static final int TLS_PORT = 7001;
    /** The workload's ACL user with {@code --secure yes}. */
    static final String USER = "tkh-client";
    /** What {@link #USER} may do, after its password. */
    static final String RULES = "~* resetchannels -@all +@read +@write -@dangerous +consistency";
    private static final String ACL_FILE = "users.acl";
    private static final String PASSWORD_FILE = "client.pass";

    /** The run's secure directory, or null for plain connections. */
    private final Path secureDir;
    /** The nodes' TLS client port ({@link #TLS_PORT} but in tests). */
    private final int tlsPort;
    /** Read from {@link #secureDir} at the first connection: the files are made after this is built. */
    private volatile SSLSocketFactory tls;
    private volatile String password;

    private ClientAccess(Path secureDir, int tlsPort) {
        this.secureDir = secureDir;
        this.tlsPort = tlsPort;
    }

    static ClientAccess plain() {
        return new ClientAccess(null, 0);
    }

    /** Over TLS as {@link #USER}, with the files {@link #makeFiles} leaves in {@code secureDir}. */
    static ClientAccess secured(Path secureDir) {
        return secured(secureDir, TLS_PORT);
    }

    /** As {@link #secured(Path)}, to nodes whose TLS port is {@code tlsPort}. */
    static ClientAccess secured(Path secureDir, int tlsPort) {
        return new ClientAccess(secureDir, tlsPort);
    }

    /**
     * Writes the nodes' ACL file (the open {@code default} user and {@link #USER}, whose password is kept as
     * its SHA-256 only) and the password the clients log in with, into {@code dir}; returns the ACL file.
     */
    static Path makeFiles(Path dir, SecureRandom random) throws IOException {
        byte[] raw = new byte[24];
        random.nextBytes(raw);
        String pass = HexFormat.of().formatHex(raw);
        Files.writeString(dir.resolve(PASSWORD_FILE), pass + "\n", StandardCharsets.UTF_8);
        Path acl = dir.resolve(ACL_FILE);
        Files.writeString(acl, "user default on nopass ~* &* +@all\n"
                + "user " + USER + " on #" + sha256(pass) + " " + RULES + "\n", StandardCharsets.UTF_8);
        return acl;
    }

    /** The node options for the client side with {@code --secure yes}: the TLS port and the ACL file. */
    static List<String> nodeArgs(Path secureDir) {
        return List.of("--tls-port", Integer.toString(TLS_PORT), "--aclfile", secureDir.resolve(ACL_FILE).toString());
    }

    boolean secure() {
        return secureDir != null;
    }

    /** A connected, logged-in Jedis client of {@code host}; a failure is Jedis's exception. */
    Jedis jedis(String host, int connectTimeoutMillis, int socketTimeoutMillis) {
        if (!secure()) {
            return new Jedis(host, Nodes.PORT, connectTimeoutMillis, socketTimeoutMillis);
        }
        load();
        return new Jedis(new HostAndPort(host, tlsPort), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(connectTimeoutMillis).socketTimeoutMillis(socketTimeoutMillis)
                .ssl(true).sslSocketFactory(tls).user(USER).password(password)
                .clientSetInfoConfig(ClientSetInfoConfig.DISABLED).build());
    }

    /** A connected, logged-in pipelining connection to {@code host}. */
    RespSocket resp(String host, int connectTimeoutMillis, int readTimeoutMillis) throws IOException {
        if (!secure()) {
            return new RespSocket(host, Nodes.PORT, connectTimeoutMillis, readTimeoutMillis);
        }
        load();
        RespSocket s = RespSocket.overTls(host, tlsPort, connectTimeoutMillis, readTimeoutMillis, tls);
        try {
            s.send(List.of(List.of("AUTH", USER, password)));
            RespReply reply = s.read();
            if (!reply.equals(RespReply.OK)) {
                throw new IOException("AUTH " + USER + " answered " + reply.render());
            }
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void load() {
        if (tls != null) {
            return;
        }
        synchronized (this) {
            if (tls != null) {
                return;
            }
            try {
                password = Files.readString(secureDir.resolve(PASSWORD_FILE), StandardCharsets.UTF_8).strip();
                tls = TestCertificates.in(secureDir, "").clientSocketFactory(true);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the run's client certificate: " + e.getMessage(), e);
            }
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
