package io.trelliskv.request;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Error replies as raw RESP bytes, and the reasons of failures in words, for every stage. */
public final class ErrorReplies {

    private ErrorReplies() {
    }

    /** What went wrong, for an operator: "timed out", or the failure's own message. */
    public static String reason(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof TimeoutException) {
            return t.getMessage() == null ? "timed out" : "timed out (" + t.getMessage() + ")";
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** The failure inside the wrappers a future adds. */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** A simple error reply ({@code -text}), on one line whatever the text holds. */
    static byte[] errorReply(String text) {
        return ("-" + text.replace('\r', ' ').replace('\n', ' ') + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A simple error ({@code -}) or a RESP3 blob error ({@code !}). */
    static boolean isError(byte[] resp) {
        return resp.length > 0 && (resp[0] == '-' || resp[0] == '!');
    }
}
