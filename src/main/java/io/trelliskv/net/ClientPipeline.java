package io.trelliskv.net;

import io.netty.channel.Channel;
import io.trelliskv.common.Clock;
import io.trelliskv.net.peer.PeerAcceptor;
import io.trelliskv.net.peer.PeerServerHandler;
import io.trelliskv.resp.RespDecoder;

/**
 * Assembles a connection's pipeline on the shared port, in order: the protocol detector (which removes
 * itself at the first byte, see {@link ProtocolDetector}), the RESP request decoder (bytes to commands,
 * enforcing the protocol limits), then the client handler (commands to the sink, replies batched per
 * read). A peer connection has its RESP handlers replaced by the peer decoder, encoder and
 * {@link PeerServerHandler}. Used by {@link RespServer} for every accepted connection and by tests on
 * an embedded channel.
 */
public final class ClientPipeline {

    /** The TLS handler, first in a connection's pipeline on the TLS port. */
    public static final String TLS = "tls";
    public static final String DETECTOR = "detector";
    public static final String RESP_DECODER = "resp-decoder";
    public static final String CLIENT_HANDLER = "client";
    static final String PEER_DECODER = "peer-decoder";
    static final String PEER_ENCODER = "peer-encoder";
    static final String PEER_HANDLER = "peer";
    /** The server TLS handler of a peer that dialed with TLS ({@code --tls-cluster yes}), and the detector after it. */
    static final String PEER_TLS = "peer-tls";
    static final String PEER_TLS_DETECTOR = "peer-tls-detector";

    private ClientPipeline() {
    }

    /** @param peers how to accept peer connections, or null to close them */
    public static void configure(Channel ch, NetConfig config, CommandSink sink, ClientRegistry registry,
                                 Clock clock, PeerAcceptor peers) {
        configure(ch, config, sink, registry, clock, peers, null);
    }

    /**
     * @param peers            how to accept peer connections, or null to close them
     * @param plaintextRefusal the error a RESP client gets before the connection is closed, on a plain port that
     *                         serves no clients ({@code --tls-clients-only yes}); null to serve them
     */
    public static void configure(Channel ch, NetConfig config, CommandSink sink, ClientRegistry registry,
                                 Clock clock, PeerAcceptor peers, String plaintextRefusal) {
        ch.pipeline().addLast(DETECTOR, new ProtocolDetector(peers, registry, plaintextRefusal));
        ch.pipeline().addLast(RESP_DECODER, new RespDecoder(config.limits(), sink::arriving));
        ch.pipeline().addLast(CLIENT_HANDLER, new ClientHandler(sink, registry, config, clock, peers != null));
    }
}
