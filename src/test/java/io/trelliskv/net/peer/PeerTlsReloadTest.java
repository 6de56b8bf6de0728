package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * A reload of peer TLS ({@link PeerTls#prepareReload}) puts the new certificate in force on both sides of new
 * connections, dialed and accepted, while a connection opened before keeps its session; a reload from files
 * that cannot be used changes nothing. Handshakes run between two embedded channels, byte for byte.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerTlsReloadTest {

    private static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 7000);
    /** Rounds of shuttling bytes between the two sides; a handshake takes a handful. */
    private static final int MAX_ROUNDS = 50;

    @TempDir
    Path dir;
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void close() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private static PeerTls tls(Path cert, Path key, Path ca) {
        return new PeerTls(new PeerTlsConfig(cert, key, ca, List.of(), List.of()));
    }

    /** A finished handshake: the dialer's and the acceptor's TLS handlers, connected through memory. */
    private SslHandler[] handshake(PeerTls dialer, PeerTls acceptor) {
        SslHandler client = dialer.clientHandler(UnpooledByteBufAllocator.DEFAULT, PEER);
        SslHandler server = acceptor.serverHandler(UnpooledByteBufAllocator.DEFAULT);
        EmbeddedChannel c = new EmbeddedChannel(client);
        EmbeddedChannel s = new EmbeddedChannel(server);
        channels.add(c);
        channels.add(s);
        for (int round = 0; round < MAX_ROUNDS && !(client.handshakeFuture().isDone() && server.handshakeFuture().isDone());
             round++) {
            shuttle(c, s);
            shuttle(s, c);
        }
        assertThat(client.handshakeFuture().isSuccess()).as("dialer's handshake").isTrue();
        assertThat(server.handshakeFuture().isSuccess()).as("acceptor's handshake").isTrue();
        return new SslHandler[] {client, server};
    }

    private static void shuttle(EmbeddedChannel from, EmbeddedChannel to) {
        ByteBuf b;
        while ((b = from.readOutbound()) != null) {
            to.writeInbound(b);
        }
        from.runPendingTasks();
        to.runPendingTasks();
    }

    private static BigInteger serialOf(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    private static BigInteger presented(java.security.cert.Certificate[] chain) {
        return ((X509Certificate) chain[0]).getSerialNumber();
    }

    @Test
    void newConnectionsOnBothSidesPresentTheReloadedCertificate() throws Exception {
        TestCertificates old = TestCertificates.make(dir, "");
        TestCertificates rotated = old.reissue("rotated-");
        PeerTls dialer = tls(old.clientCert, old.clientKey, old.caCert);
        PeerTls acceptor = tls(old.serverCert, old.serverKey, old.caCert);
        SslHandler[] before = handshake(dialer, acceptor);
        assertThat(presented(before[1].engine().getSession().getPeerCertificates()))
                .isEqualTo(serialOf(old.clientCert));

        dialer.prepareReload(dialer.config().withFiles(rotated.clientCert, rotated.clientKey, old.caCert)).run();
        acceptor.prepareReload(acceptor.config().withFiles(rotated.serverCert, rotated.serverKey, old.caCert)).run();

        SslHandler[] after = handshake(dialer, acceptor);
        assertThat(presented(after[1].engine().getSession().getPeerCertificates()))
                .as("the acceptor sees the dialer's new certificate").isEqualTo(serialOf(rotated.clientCert));
        assertThat(presented(after[0].engine().getSession().getPeerCertificates()))
                .as("the dialer sees the acceptor's new certificate").isEqualTo(serialOf(rotated.serverCert));
        assertThat(presented(before[1].engine().getSession().getPeerCertificates()))
                .as("the connection opened before keeps its session").isEqualTo(serialOf(old.clientCert));
        assertThat(dialer.config().certFile()).isEqualTo(rotated.clientCert);
    }

    @Test
    void aReloadFromUnusableFilesChangesNothing() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        PeerTls acceptor = tls(certs.serverCert, certs.serverKey, certs.caCert);
        Path missing = dir.resolve("missing.crt");

        Throwable refused = catchThrowable(() -> acceptor.prepareReload(
                acceptor.config().withFiles(missing, certs.serverKey, certs.caCert)));

        assertThat(refused).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.crt");
        assertThat(acceptor.config().certFile()).isEqualTo(certs.serverCert);
        SslHandler[] after = handshake(tls(certs.clientCert, certs.clientKey, certs.caCert), acceptor);
        assertThat(presented(after[0].engine().getSession().getPeerCertificates()))
                .isEqualTo(serialOf(certs.serverCert));
    }
}
