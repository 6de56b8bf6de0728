package io.trelliskv.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Drives a {@link RespDecoder} in an {@link EmbeddedChannel}, one read per chunk, and records what came
 * out: the commands (arguments as ISO-8859-1 strings, so any byte round-trips) and the protocol error,
 * if any. Two runs over the same bytes can be compared with {@code equals} whatever their splitting.
 * Any exception other than {@link RespProtocolException} escapes, and so does a second error or a
 * command decoded after the error: the decoder must stay silent once it has failed.
 */
record DecoderRun(List<List<String>> commands, String error) {

    static DecoderRun of(RespLimits limits, List<byte[]> chunks) {
        EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(limits));
        List<List<String>> commands = new ArrayList<>();
        String error = null;
        try {
            for (int i = 0; i < chunks.size(); i++) {
                byte[] chunk = chunks.get(i);
                try {
                    channel.writeInbound(i % 2 == 0 ? directAtAnOffset(chunk) : Unpooled.wrappedBuffer(chunk));
                } catch (RespProtocolException e) {
                    if (error != null) {
                        throw new AssertionError("second protocol error after '" + error + "'", e);
                    }
                    error = e.getMessage();
                    drain(channel, commands);
                    continue;
                }
                int before = commands.size();
                drain(channel, commands);
                if (error != null && commands.size() > before) {
                    throw new AssertionError("decoded " + commands.subList(before, commands.size())
                            + " after the protocol error '" + error + "'");
                }
            }
        } finally {
            channel.finishAndReleaseAll();
        }
        return new DecoderRun(commands, error);
    }

    /**
     * A chunk in a direct buffer whose readable bytes start past its first bytes: the decoder copies
     * arguments out of direct buffers another way than out of heap arrays, and must use the buffer's
     * indexes, not its start. Chunks alternate between this and a heap buffer.
     */
    private static ByteBuf directAtAnOffset(byte[] chunk) {
        ByteBuf b = Unpooled.directBuffer(chunk.length + 7);
        b.writeBytes(new byte[] {'x', 'x', 'x', 'x', 'x', 'x', 'x'});
        b.writeBytes(chunk);
        b.readerIndex(7);
        return b;
    }

    static DecoderRun whole(RespLimits limits, byte[] stream) {
        return of(limits, List.of(stream));
    }

    static DecoderRun whole(byte[] stream) {
        return whole(RespLimits.DEFAULTS, stream);
    }

    /** The stream split in two at {@code at}. */
    static DecoderRun splitAt(RespLimits limits, byte[] stream, int at) {
        return of(limits, List.of(Arrays.copyOfRange(stream, 0, at), Arrays.copyOfRange(stream, at, stream.length)));
    }

    static DecoderRun byteByByte(RespLimits limits, byte[] stream) {
        List<byte[]> chunks = new ArrayList<>(stream.length);
        for (byte b : stream) {
            chunks.add(new byte[] {b});
        }
        return of(limits, chunks);
    }

    private static void drain(EmbeddedChannel channel, List<List<String>> commands) {
        Object msg;
        while ((msg = channel.readInbound()) != null) {
            commands.add(strings((byte[][]) msg));
        }
    }

    static List<String> strings(byte[][] args) {
        List<String> out = new ArrayList<>(args.length);
        for (byte[] arg : args) {
            out.add(new String(arg, StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
