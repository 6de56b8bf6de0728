package io.trelliskv.cli;

import io.trelliskv.common.ParseException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "localhost:5000      | localhost | 5000 | localhost:5000",
            "127.0.0.1:1         | 127.0.0.1 | 1    | 127.0.0.1:1",
            "[::1]:6379          | ::1       | 6379 | [::1]:6379",
            "[fe80::1%eth0]:7000 | fe80::1%eth0 | 7000 | [fe80::1%eth0]:7000",
            "node-3.example:65535 | node-3.example | 65535 | node-3.example:65535",
    })
    void parsesTcpAddresses(String text, String host, int port, String shown) {
        Address address = Address.parse(text);

        assertThat(address).isEqualTo(new Address.Tcp(host, port));
        assertThat(address).hasToString(shown);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "unix:/tmp/trellis.sock | /tmp/trellis.sock",
            "unix:run/t.sock        | run/t.sock",
    })
    void parsesUnixSocketPaths(String text, String path) {
        Address address = Address.parse(text);

        assertThat(address).isEqualTo(new Address.Unix(Path.of(path)));
        assertThat(address).hasToString(text);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "localhost:notaport | port must be a number from 1 to 65535",
            "localhost:0        | port must be a number from 1 to 65535",
            "localhost:65536    | port must be a number from 1 to 65535",
            "localhost:-1       | port must be a number from 1 to 65535",
            "localhost:99999999999999 | port must be a number from 1 to 65535",
            "localhost:         | missing port",
            "localhost          | expected host:port or unix:/path",
            ":5000              | missing host",
            "::1:5000           | put IPv6 addresses in brackets",
            "[::1               | missing ']'",
            "[::1]              | expected [ipv6]:port",
            "[]:5000            | missing host",
            "unix:              | missing socket path",
    })
    void rejectsBadAddressesSayingWhatWasExpected(String text, String expected) {
        assertThatThrownBy(() -> Address.parse(text))
                .isInstanceOf(ParseException.class)
                .hasMessageStartingWith("bad address '" + text + "': ")
                .hasMessageContaining(expected);
    }
}
