package io.trelliskv.net;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The server side of TLS: the context every new client connection on the TLS port takes its
 * {@link SslHandler} from. BoringSSL through netty-tcnative where its native library loads (faster, and
 * what Netty recommends), the JDK's provider otherwise; {@link #engine()} says which, for the startup log.
 *
 * <p>Certificates rotate without a restart: {@link #reload} builds a context from the new files first and
 * only then swaps it in, so a bad file changes nothing, and connections already open keep the session
 * they negotiated.
 */
public final class ServerTls {

    private final AtomicReference<SslContext> context = new AtomicReference<>();
    private volatile TlsConfig config;

    /** @throws IllegalArgumentException naming the file and the reason if the certificate or key cannot be used */
    public ServerTls(TlsConfig config) {
        this.config = config;
        this.context.set(build(config));
    }

    /** The TLS engine in use: "OpenSSL (BoringSSL via netty-tcnative)" or "JDK". */
    public static String engine() {
        return OpenSsl.isAvailable() ? "OpenSSL (" + OpenSsl.versionString() + " via netty-tcnative)" : "JDK";
    }

    public TlsConfig config() {
        return config;
    }

    /** A handler for a new connection, with the context in force now. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return context.get().newHandler(alloc);
    }

    /** Rebuilds the context from {@code next}'s files; on failure the old context stays and the reason is thrown. */
    public synchronized void reload(TlsConfig next) {
        SslContext built = build(next);
        context.set(built);
        config = next;
    }

    private static SslContext build(TlsConfig c) {
        try {
            TlsFiles.check(c.certFile(), c.keyFile());
            SslContextBuilder b = SslContextBuilder.forServer(c.certFile().toFile(), c.keyFile().toFile())
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .clientAuth(switch (c.authClients()) {
                        case NO -> ClientAuth.NONE;
                        case YES -> ClientAuth.REQUIRE;
                        case OPTIONAL -> ClientAuth.OPTIONAL;
                    });
            if (c.caCertFile() != null) {
                b.trustManager(c.caCertFile().toFile());
            }
            if (!c.protocols().isEmpty()) {
                b.protocols(c.protocols());
            }
            if (!c.ciphersuites().isEmpty()) {
                b.ciphers(c.ciphersuites());
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS certificate " + c.certFile() + " / key " + c.keyFile()
                    + (c.caCertFile() != null ? " / CA " + c.caCertFile() : "") + ": " + reason(e), e);
        }
    }

    private static String reason(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }
}
