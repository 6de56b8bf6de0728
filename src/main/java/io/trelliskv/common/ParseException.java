package io.trelliskv.common;

/**
 * Text a person typed (a duration, a size, an address, a level or policy name) that does not parse. The
 * message names the text and the accepted forms ({@code bad duration '5x' (expected ...)}); a front end
 * prefixes the option it came from and reports it as a usage error. An expected outcome of reading
 * input, not a bug: no stack trace.
 *
 * <p>Not a {@link java.text.ParseException}: unchecked, and with no error offset.
 */
public final class ParseException extends RuntimeException {

    public ParseException(String message) {
        super(message, null, false, false);
    }
}
