package io.trelliskv.security;

import org.junit.jupiter.api.Test;

import static io.trelliskv.security.PeerAuthenticator.Role.ACCEPTOR;
import static io.trelliskv.security.PeerAuthenticator.Role.DIALER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeerAuthenticatorTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes();

    @Test
    void twoPeersWithTheSecretProveThemselvesToEachOther() {
        PeerAuthenticator dialer = new PeerAuthenticator(SECRET);
        PeerAuthenticator acceptor = new PeerAuthenticator(SECRET);
        byte[] d = dialer.nonce();
        byte[] a = acceptor.nonce();
        assertThat(dialer.verify(ACCEPTOR, d, a, acceptor.proof(ACCEPTOR, d, a))).isTrue();
        assertThat(acceptor.verify(DIALER, d, a, dialer.proof(DIALER, d, a))).isTrue();
    }

    @Test
    void aWrongSecretAReflectedProofAndAReplayedExchangeFail() {
        PeerAuthenticator good = new PeerAuthenticator(SECRET);
        PeerAuthenticator impostor = new PeerAuthenticator("a guess at the secret".getBytes());
        byte[] d = good.nonce();
        byte[] a = good.nonce();
        assertThat(good.verify(DIALER, d, a, impostor.proof(DIALER, d, a))).as("wrong secret").isFalse();
        assertThat(good.verify(DIALER, d, a, good.proof(ACCEPTOR, d, a))).as("the acceptor's proof sent back").isFalse();
        byte[] recorded = good.proof(DIALER, d, a);
        byte[] freshAcceptorNonce = good.nonce();
        assertThat(good.verify(DIALER, d, freshAcceptorNonce, recorded)).as("replayed on a new connection").isFalse();
        assertThat(good.verify(DIALER, d, a, new byte[5])).as("truncated").isFalse();
    }

    @Test
    void aShortSecretIsRefusedWithItsLength() {
        assertThatThrownBy(() -> new PeerAuthenticator("short".getBytes()))
                .hasMessage("cluster secret of 5 bytes (expected: at least 16)");
    }
}
