package io.trelliskv.command;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The commands a node understands, looked up by name case-insensitively straight from the request's
 * bytes (no String is made on the hot path). An open-addressing table sized to a power of two at
 * least four times the command count keeps lookups to one or two probes.
 */
public final class CommandTable {

    private final List<CommandSpec> commands = new ArrayList<>();
    private CommandSpec[] slots = new CommandSpec[256];
    private byte[][] names = new byte[256][];

    /** Registers a command; names are unique. Not thread-safe: register everything before serving. */
    public CommandTable register(String name, int arity, Set<CommandFlag> flags, int firstKey, int lastKey,
                                 int step, CommandHandler handler) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (find(lower.getBytes(StandardCharsets.US_ASCII)) != null) {
            throw new IllegalArgumentException("command registered twice: " + name);
        }
        CommandSpec spec = new CommandSpec(lower, arity, flags, firstKey, lastKey, step, handler);
        commands.add(spec);
        if (commands.size() * 4 > slots.length) {
            rehash(slots.length * 2);
        } else {
            insert(spec);
        }
        return this;
    }

    /** A keyless command. */
    public CommandTable register(String name, int arity, Set<CommandFlag> flags, CommandHandler handler) {
        return register(name, arity, flags, 0, 0, 0, handler);
    }

    /** The command named by {@code name} (any case), or null. */
    public CommandSpec find(byte[] name) {
        int mask = slots.length - 1;
        for (int i = hash(name) & mask; ; i = (i + 1) & mask) {
            CommandSpec spec = slots[i];
            if (spec == null) {
                return null;
            }
            if (equalsIgnoreCase(names[i], name)) {
                return spec;
            }
        }
    }

    /** All commands, in registration order. */
    public List<CommandSpec> all() {
        return Collections.unmodifiableList(commands);
    }

    private void rehash(int size) {
        slots = new CommandSpec[size];
        names = new byte[size][];
        for (CommandSpec spec : commands) {
            insert(spec);
        }
    }

    private void insert(CommandSpec spec) {
        byte[] name = spec.name().getBytes(StandardCharsets.US_ASCII);
        int mask = slots.length - 1;
        int i = hash(name) & mask;
        while (slots[i] != null) {
            i = (i + 1) & mask;
        }
        slots[i] = spec;
        names[i] = name;
    }

    private static int hash(byte[] name) {
        int h = 0;
        for (byte b : name) {
            h = 31 * h + (b | 0x20); // folds ASCII letters to lower case
        }
        return h ^ (h >>> 16);
    }

    /** {@code lower} is lowercase ASCII. */
    private static boolean equalsIgnoreCase(byte[] lower, byte[] name) {
        if (lower.length != name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            byte b = name[i];
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != lower[i]) {
                return false;
            }
        }
        return true;
    }
}
