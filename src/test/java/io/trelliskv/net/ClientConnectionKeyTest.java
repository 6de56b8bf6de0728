package io.trelliskv.net;

import io.trelliskv.common.Key;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** A handler's key of an argument is the key the command was routed by only when it is that very argument. */
class ClientConnectionKeyTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theRoutedKeyServesItsOwnArgumentOnly() {
        ClientConnection c = ClientConnection.detached(0);
        byte[] arg = bytes("user:1");
        Key routed = Key.of(arg);
        c.routedKey(routed);

        assertThat(c.key(arg)).isSameAs(routed);
        byte[] sameText = bytes("user:1");
        assertThat(c.key(sameText)).isNotSameAs(routed).isEqualTo(routed);
        byte[] other = bytes("user:2");
        assertThat(c.key(other)).isEqualTo(Key.of(other)).isNotEqualTo(routed);
    }

    @Test
    void withNoRoutedKeyEveryArgumentIsHashed() {
        ClientConnection c = ClientConnection.detached(0);
        byte[] arg = bytes("k");
        Key routed = Key.of(arg);
        c.routedKey(routed);
        c.routedKey(null); // the command has run

        assertThat(c.key(arg)).isNotSameAs(routed).isEqualTo(routed);
    }
}
