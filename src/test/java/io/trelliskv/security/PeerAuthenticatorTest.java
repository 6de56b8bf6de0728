package io.trelliskv.security;

import io.trelliskv.common.ManualClock;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeerAuthenticatorTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes();
    private final ManualClock clock = new ManualClock(1_800_000_000_000L);

    @Test
    void twoPeersWithTheSecretProveThemselvesToEachOther() {
        PeerAuthenticator dialer = new PeerAuthenticator(SECRET, clock);
        PeerAuthenticator acceptor = new PeerAuthenticator(SECRET, clock);
        byte[] d = dialer.dialerProof("c", 7);
        assertThat(acceptor.acceptDialer("c", 7, d)).isTrue();
        byte[] a = acceptor.acceptorProof("c", 9, d);
        assertThat(dialer.acceptAcceptor("c", 9, d, a)).isTrue();
    }

    @Test
    void aWrongSecretAReplayAStaleProofAndAReflectedOneFail() {
        PeerAuthenticator good = new PeerAuthenticator(SECRET, clock);
        PeerAuthenticator impostor = new PeerAuthenticator("a guess at the secret".getBytes(), clock);
        assertThat(good.acceptDialer("c", 7, impostor.dialerProof("c", 7))).as("wrong secret").isFalse();
        byte[] recorded = good.dialerProof("c", 7);
        assertThat(good.acceptDialer("c", 7, recorded)).isTrue();
        assertThat(good.acceptDialer("c", 7, recorded)).as("replayed").isFalse();
        assertThat(good.acceptDialer("c", 8, good.dialerProof("c", 7))).as("another node's id").isFalse();
        assertThat(good.acceptDialer("d", 7, good.dialerProof("c", 7))).as("another cluster").isFalse();
        byte[] old = good.dialerProof("c", 7);
        clock.advanceMillis(PeerAuthenticator.WINDOW_MILLIS + 1);
        assertThat(good.acceptDialer("c", 7, old)).as("stale").isFalse();
        byte[] d = good.dialerProof("c", 7);
        assertThat(good.acceptAcceptor("c", 7, d, d)).as("the dialer's own proof reflected").isFalse();
        assertThat(good.acceptAcceptor("c", 9, d, impostor.acceptorProof("c", 9, d))).as("impostor acceptor").isFalse();
        assertThat(good.acceptAcceptor("c", 9, d, good.acceptorProof("c", 9, good.dialerProof("c", 7))))
                .as("an answer to another dialer's challenge").isFalse();
        assertThat(good.acceptDialer("c", 7, null)).as("no proof").isFalse();
        assertThat(good.acceptDialer("c", 7, new byte[5])).as("truncated").isFalse();
    }

    @Test
    void aShortSecretIsRefusedWithItsLength() {
        assertThatThrownBy(() -> new PeerAuthenticator("short".getBytes(), clock))
                .hasMessage("cluster secret of 5 bytes (expected: at least 16)");
    }
}
