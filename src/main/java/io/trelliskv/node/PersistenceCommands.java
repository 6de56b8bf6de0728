package io.trelliskv.node;

import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.DeferredReply;
import io.trelliskv.persist.Persistence;
import io.trelliskv.resp.RespWriter;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;

import static io.trelliskv.command.Args.is;
import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE, with Redis's replies. Here one operation serves all three
 * saving commands: a snapshot written in the background, after which the log before it is deleted — what
 * Redis's RDB save and its AOF rewrite each do in part. SAVE waits for it (the node goes on serving, unlike
 * Redis's SAVE, which blocks the server); BGSAVE and BGREWRITEAOF answer at once.
 */
final class PersistenceCommands {

    static final String SAVE_IN_PROGRESS = "ERR Background save already in progress";
    static final String REWRITE_IN_PROGRESS = "ERR Background append only file rewriting already in progress";
    static final String IN_MEMORY = "ERR this node keeps its data in memory only (--appendonly no): nothing to save";
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);

    /** Null with {@code --appendonly no}. */
    private final Persistence persistence;
    private final long startMillis;

    PersistenceCommands(Persistence persistence, long startMillis) {
        this.persistence = persistence;
        this.startMillis = startMillis;
    }

    void registerInto(CommandTable t) {
        t.register("save", 1, EnumSet.of(ADMIN), this::save);
        t.register("bgsave", -1, EnumSet.of(ADMIN), this::bgsave);
        t.register("bgrewriteaof", 1, EnumSet.of(ADMIN), this::bgrewriteaof);
        t.register("lastsave", 1, EnumSet.of(FAST, LOADING, STALE), this::lastsave);
    }

    private Persistence persistence() {
        if (persistence == null) {
            throw new CommandException(IN_MEMORY);
        }
        return persistence;
    }

    private void save(ClientConnection c, byte[][] a, RespWriter out) {
        Persistence.Started s = persistence().snapshot();
        if (!s.started()) {
            throw new CommandException(SAVE_IN_PROGRESS);
        }
        if (c.isDetached()) {
            throw new CommandException("ERR SAVE needs a client connection");
        }
        DeferredReply reply = c.deferReply();
        s.done().whenComplete((info, failure) -> {
            if (failure == null) {
                reply.complete(OK);
            } else {
                reply.fail("ERR snapshot failed: " + failure.getMessage());
            }
        });
    }

    /** BGSAVE [SCHEDULE]: with SCHEDULE, a snapshot already running is answered as scheduled, as in Redis. */
    private void bgsave(ClientConnection c, byte[][] a, RespWriter out) {
        boolean schedule = a.length == 2 && is(a[1], "SCHEDULE");
        if (a.length > 2 || a.length == 2 && !schedule) {
            throw CommandException.syntax();
        }
        Persistence.Started s = persistence().snapshot();
        if (s.started()) {
            out.simple("Background saving started");
        } else if (schedule) {
            s.done().whenComplete((info, failure) -> persistence.snapshot());
            out.simple("Background saving scheduled");
        } else {
            throw new CommandException(SAVE_IN_PROGRESS);
        }
    }

    private void bgrewriteaof(ClientConnection c, byte[][] a, RespWriter out) {
        if (!persistence().snapshot().started()) {
            throw new CommandException(REWRITE_IN_PROGRESS);
        }
        out.simple("Background append only file rewriting started");
    }

    /** The Unix time of the last snapshot written, or of the node's start if none (as Redis after loading). */
    private void lastsave(ClientConnection c, byte[][] a, RespWriter out) {
        out.integer((persistence == null ? startMillis : persistence.stats().lastSaveMillis()) / 1000);
    }
}
