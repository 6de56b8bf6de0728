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

    /**
     * Challenge and response: each side's proof covers the other's fresh nonce, so a dialer's response recorded on
     * one connection is worth nothing on another (the acceptor's nonce differs), nor at another node (its id and
     * nonce differ), and only a holder of the secret can make one.
     */
    @Test
    void aResponseAnswersOneChallengeOfOneAcceptorOnly() {
        PeerAuthenticator dialer = new PeerAuthenticator(SECRET, clock);
        PeerAuthenticator acceptor = new PeerAuthenticator(SECRET, clock);
        byte[] challenge = dialer.dialerChallenge();
        assertThat(challenge).hasSize(PeerAuthenticator.CHALLENGE_BYTES);
        byte[] answer = acceptor.acceptorProof("c", 9, challenge);
        assertThat(dialer.acceptAcceptor("c", 9, challenge, answer)).isTrue();
        byte[] response = dialer.dialerResponse("c", 7, 9, challenge, answer);
        assertThat(acceptor.acceptResponse("c", 7, 9, challenge, answer, response)).isTrue();

        byte[] nextAnswer = acceptor.acceptorProof("c", 9, challenge); // the same hello replayed: a new nonce
        assertThat(acceptor.acceptResponse("c", 7, 9, challenge, nextAnswer, response)).as("replayed response").isFalse();
        byte[] otherNode = acceptor.acceptorProof("c", 10, challenge);
        assertThat(acceptor.acceptResponse("c", 7, 10, challenge, otherNode, response)).as("another acceptor").isFalse();
        assertThat(acceptor.acceptResponse("c", 8, 9, challenge, answer, response)).as("another dialer id").isFalse();
        PeerAuthenticator impostor = new PeerAuthenticator("a guess at the secret".getBytes(), clock);
        assertThat(acceptor.acceptResponse("c", 7, 9, challenge, answer,
                impostor.dialerResponse("c", 7, 9, challenge, answer))).as("wrong secret").isFalse();
        assertThat(acceptor.acceptResponse("c", 7, 9, challenge, answer, answer)).as("the acceptor's proof reflected")
                .isFalse();
        assertThat(acceptor.acceptResponse("c", 7, 9, challenge, answer, null)).isFalse();
    }
}
