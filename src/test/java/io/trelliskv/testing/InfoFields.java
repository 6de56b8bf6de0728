package io.trelliskv.testing;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** INFO text as the tests read it. */
public final class InfoFields {

    private InfoFields() {
    }

    /** INFO's {@code field:value} lines (CRLF or LF) as a map; section headers and blank lines dropped. */
    public static Map<String, String> parse(String info) {
        Map<String, String> fields = new HashMap<>();
        for (String line : info.split("\r?\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            assertThat(colon).as("INFO line without ':': %s", line).isPositive();
            fields.put(line.substring(0, colon), line.substring(colon + 1));
        }
        return fields;
    }
}
