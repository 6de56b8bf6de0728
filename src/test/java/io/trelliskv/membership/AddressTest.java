package io.trelliskv.membership;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AddressTest {

    @Test
    void parsesHostAndPortAndBracketedIpv6() {
        assertThat(Address.parse("10.0.0.1:7000")).isEqualTo(new Address("10.0.0.1", 7000));
        assertThat(Address.parse("node-1.example:1")).isEqualTo(new Address("node-1.example", 1));
        assertThat(Address.parse("[::1]:7000")).isEqualTo(new Address("::1", 7000));
        assertThat(new Address("::1", 7000)).hasToString("[::1]:7000");
        assertThat(new Address("h", 65535)).hasToString("h:65535");
    }

    @Test
    void refusesWhatIsNotHostColonPort() {
        assertThatThrownBy(() -> Address.parse("nohost")).hasMessage("address: 'nohost' (expected: host:port)");
        assertThatThrownBy(() -> Address.parse(":7000")).hasMessage("address: ':7000' (expected: host:port)");
        assertThatThrownBy(() -> Address.parse("h:")).hasMessage("address: 'h:' (expected: host:port)");
        assertThatThrownBy(() -> Address.parse("h:x"))
                .hasMessage("address: 'h:x' (expected: host:port with a numeric port)");
        assertThatThrownBy(() -> Address.parse("h:70000")).hasMessage("port: 70000 (expected: 0..65535)");
    }
}
