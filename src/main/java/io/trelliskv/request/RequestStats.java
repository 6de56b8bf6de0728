package io.trelliskv.request;

import java.util.concurrent.atomic.LongAdder;

/**
 * The counters every stage of a request's path adds to: commands received, unknown commands, and
 * error replies sent, whichever stage refused or failed the command (INFO's {@code total_commands_processed},
 * {@code unknown_commands} and {@code total_error_replies}). Each stage is handed this object; none
 * calls back into the stage above it to count.
 */
public final class RequestStats {

    private final LongAdder commandsProcessed = new LongAdder();
    private final LongAdder unknownCommands = new LongAdder();
    private final LongAdder errorReplies = new LongAdder();
    /** Forwarded commands not started because their sender's deadline had passed ({@code replication.Deadline}). */
    private final LongAdder expiredForwardsDropped = new LongAdder();

    void commandReceived() {
        commandsProcessed.increment();
    }

    void unknownCommand() {
        unknownCommands.increment();
    }

    /** An error reply was sent (or is on its way) for a command. */
    void errorReplied() {
        errorReplies.increment();
    }

    /** A forwarded command was answered without being started: its deadline had passed. */
    void expiredForwardDropped() {
        expiredForwardsDropped.increment();
    }

    public long commandsProcessed() {
        return commandsProcessed.sum();
    }

    public long unknownCommands() {
        return unknownCommands.sum();
    }

    public long errorReplies() {
        return errorReplies.sum();
    }

    public long expiredForwardsDropped() {
        return expiredForwardsDropped.sum();
    }

    void reset() {
        expiredForwardsDropped.reset();
        commandsProcessed.reset();
        unknownCommands.reset();
        errorReplies.reset();
    }
}
