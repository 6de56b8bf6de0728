package io.trelliskv.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one {@code host:port} syntax of seeds, members and trellis-cli targets. */
class AddressTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.0.0.1:7000        | 10.0.0.1       | 7000  | 10.0.0.1:7000",
            "node-1.example:1     | node-1.example | 1     | node-1.example:1",
            "localhost:65535      | localhost      | 65535 | localhost:65535",
            "[::1]:5000           | ::1            | 5000  | [::1]:5000",
            "[fe80::1%eth0]:7000  | fe80::1%eth0   | 7000  | [fe80::1%eth0]:7000",
            "[2001:db8::7]:6379   | 2001:db8::7    | 6379  | [2001:db8::7]:6379",
            "[10.0.0.1]:80        | 10.0.0.1       | 80    | 10.0.0.1:80",
    })
    void parsesHostPortAndBracketedIpv6AndPrintsItBack(String text, String host, int port, String shown) {
        Address address = Address.parse(text);

        assertThat(address).isEqualTo(new Address(host, port));
        assertThat(address).hasToString(shown);
        assertThat(Address.parse(address.toString())).isEqualTo(address);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "nohost          | expected host:port",
            ":7000           | missing host",
            "h:              | missing port",
            "h:x             | port must be a number from 1 to 65535",
            "h:0             | port must be a number from 1 to 65535",
            "h:70000         | port must be a number from 1 to 65535",
            "h:-1            | port must be a number from 1 to 65535",
            "h:99999999999   | port must be a number from 1 to 65535",
            "::1:5000        | put IPv6 addresses in brackets, e.g. [::1]:5000",
            "[::1            | missing ']' after IPv6 address",
            "[::1]           | expected [ipv6]:port",
            "[::1]5000       | expected [ipv6]:port",
            "[]:5000         | missing host",
    })
    void refusesWhatIsNotAnAddressSayingWhatWasExpected(String text, String expected) {
        assertThatThrownBy(() -> Address.parse(text))
                .isInstanceOf(ParseException.class)
                .hasMessage("bad address '" + text + "': " + expected);
    }

    @Test
    void valuesAreCheckedWhenBuilt() {
        assertThatThrownBy(() -> new Address("", 1)).hasMessage("host: empty (expected: a host name or IP literal)");
        assertThatThrownBy(() -> new Address("h", 65536)).hasMessage("port: 65536 (expected: 0..65535)");
        assertThat(new Address("h", 0)).as("an address not bound yet").hasToString("h:0");
    }
}
