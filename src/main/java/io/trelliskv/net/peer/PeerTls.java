package io.trelliskv.net.peer;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.trelliskv.net.TlsFiles;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Mutual TLS on every peer connection ({@code --tls-cluster yes}): the two TLS contexts of a node's peer
 * connections, built from {@link PeerTlsConfig} at start and again on a rotation, and the count of plaintext
 * peers refused.
 *
 * <p><b>Who is a peer.</b> Both sides present the node's certificate and both require the other's to be
 * signed by the cluster's CA; host names are not checked, because members are reached at the address they
 * gossip (often an IP, and behind NAT or {@code --advertise} not the one in any certificate). So the CA
 * must sign the cluster's nodes only: any certificate it signed is accepted as a node of the cluster. TLS
 * authenticates the machine and keeps the bytes private; the peer hello's proof of the cluster secret
 * ({@code --cluster-secret-file}) still decides membership, inside the encrypted connection.
 *
 * <p>BoringSSL through netty-tcnative where its native library loads, the JDK's provider otherwise, as
 * for clients. <b>Rotation</b> without a restart: {@code CONFIG SET tls-cert-file ...} reloads these contexts
 * with the client port's ({@link #prepareReload}); new connections, dialed and accepted, present the new
 * certificate, and connections already open keep the session they negotiated.
 */
public final class PeerTls {

    /** The settings and the two contexts built from them, swapped together on a reload. */
    private record Contexts(PeerTlsConfig config, SslContext server, SslContext client) {
    }

    /** The contexts new connections take their handlers from; replaced whole by {@link #prepareReload}'s action. */
    private final AtomicReference<Contexts> contexts = new AtomicReference<>();
    /** Peer connections refused for speaking the peer protocol outside TLS. */
    private final AtomicLong plaintextRefused = new AtomicLong();
    private final AtomicLong handshakesFailed = new AtomicLong();

    /** @throws IllegalArgumentException naming the files and the reason if they cannot be used */
    public PeerTls(PeerTlsConfig config) {
        contexts.set(build(config));
    }

    /**
     * Builds the contexts of {@code next}'s files now, and returns the action that puts them in force for new
     * peer connections, dialed and accepted; connections already open keep their session. Split in two so that
     * a rotation of the client port's files and of these is all or nothing.
     *
     * @throws IllegalArgumentException naming the files and the reason if they cannot be used (nothing changes)
     */
    public Runnable prepareReload(PeerTlsConfig next) {
        Contexts built = build(next);
        return () -> contexts.set(built);
    }

    private static Contexts build(PeerTlsConfig config) {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        try {
            TlsFiles.check(config.certFile(), config.keyFile());
            SslContext server = settings(SslContextBuilder.forServer(config.certFile().toFile(),
                    config.keyFile().toFile()).clientAuth(ClientAuth.REQUIRE), config, provider).build();
            SslContext client = settings(SslContextBuilder.forClient()
                    .keyManager(config.certFile().toFile(), config.keyFile().toFile())
                    .endpointIdentificationAlgorithm(null), config, provider).build();
            return new Contexts(config, server, client);
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("peer TLS: certificate " + config.certFile() + " / key "
                    + config.keyFile() + " / CA " + config.caCertFile() + ": " + rootMessage(e), e);
        }
    }

    private static SslContextBuilder settings(SslContextBuilder b, PeerTlsConfig config, SslProvider provider) {
        b.sslProvider(provider).trustManager(config.caCertFile().toFile());
        if (!config.protocols().isEmpty()) {
            b.protocols(config.protocols());
        }
        if (!config.ciphersuites().isEmpty()) {
            b.ciphers(config.ciphersuites());
        }
        return b;
    }

    /** The settings in force (the files of the last reload). */
    public PeerTlsConfig config() {
        return contexts.get().config();
    }

    /** The TLS handler of a peer connection accepted on the shared port, once its ClientHello is seen. */
    public SslHandler serverHandler(ByteBufAllocator alloc) {
        return contexts.get().server().newHandler(alloc);
    }

    /** The TLS handler of a connection this node dials to {@code peer}, first in its pipeline. */
    public SslHandler clientHandler(ByteBufAllocator alloc, InetSocketAddress peer) {
        return contexts.get().client().newHandler(alloc, peer.getHostString(), peer.getPort());
    }

    /** Counts a peer connection refused because it spoke the peer protocol in plaintext. */
    public void plaintextRefused() {
        plaintextRefused.incrementAndGet();
    }

    /** Peer connections refused so far because they spoke the peer protocol in plaintext (INFO). */
    public long plaintextPeersRefused() {
        return plaintextRefused.get();
    }

    /** Counts a peer connection whose TLS handshake failed here (no certificate, or one the CA did not sign). */
    public void handshakeFailed() {
        handshakesFailed.incrementAndGet();
    }

    /** Peer connections accepted here whose TLS handshake failed (INFO {@code peer_tls_handshake_failures}). */
    public long handshakesFailed() {
        return handshakesFailed.get();
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }
}
