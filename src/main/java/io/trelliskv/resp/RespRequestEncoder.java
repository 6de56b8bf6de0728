package io.trelliskv.resp;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encodes a command as a RESP multibulk request, the form every Redis client sends. */
public final class RespRequestEncoder {

    private static final byte[] CRLF = {'\r', '\n'};

    private RespRequestEncoder() {
    }

    /** {@code *<n>\r\n} then {@code $<len>\r\n<arg>\r\n} for each argument, command name first. */
    public static byte[] encode(List<byte[]> args) {
        int size = 16;
        for (byte[] arg : args) {
            size += arg.length + 16;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        header(out, '*', args.size());
        for (byte[] arg : args) {
            header(out, '$', arg.length);
            out.writeBytes(arg);
            out.writeBytes(CRLF);
        }
        return out.toByteArray();
    }

    private static void header(ByteArrayOutputStream out, char type, int count) {
        out.write(type);
        out.writeBytes(Integer.toString(count).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(CRLF);
    }
}
