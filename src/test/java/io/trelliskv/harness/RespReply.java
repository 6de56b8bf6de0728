package io.trelliskv.harness;

/**
 * One RESP2 reply as the pipelined client reads it off the wire: its type and its text (the simple
 * string, the error with its code, the integer in decimal, the bulk string; none for nil).
 */
public record RespReply(Type type, String text) {

    public enum Type { SIMPLE, ERROR, INTEGER, BULK, NIL }

    static final RespReply OK = new RespReply(Type.SIMPLE, "OK");
    static final RespReply NIL = new RespReply(Type.NIL, null);

    public static RespReply integer(long n) {
        return new RespReply(Type.INTEGER, Long.toString(n));
    }

    static RespReply bulk(String s) {
        return new RespReply(Type.BULK, s);
    }

    static RespReply error(String s) {
        return new RespReply(Type.ERROR, s);
    }

    public boolean isError() {
        return type == Type.ERROR;
    }

    /** As redis-cli prints it, on one line: {@code OK}, {@code (integer) 3}, {@code "v"}, {@code (nil)}, {@code (error) ...}. */
    public String render() {
        return switch (type) {
            case SIMPLE -> text;
            case ERROR -> "(error) " + text;
            case INTEGER -> "(integer) " + text;
            case BULK -> "\"" + text + "\"";
            case NIL -> "(nil)";
        };
    }
}
