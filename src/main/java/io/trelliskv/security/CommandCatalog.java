package io.trelliskv.security;

import java.util.Set;

/**
 * What the ACL needs to know of the command table: which names exist and which categories
 * ({@code @read}, {@code @write}, {@code @admin}, ...) each command belongs to, as Redis groups them.
 * The command layer implements it; the ACL itself knows no command.
 */
public interface CommandCatalog {

    /** True if {@code command} (lowercase) is a command of this node. */
    boolean isCommand(String command);

    /** True if {@code category} (lowercase, without the {@code @}) is a category name. */
    boolean isCategory(String category);

    /** The categories of {@code command} (lowercase names without {@code @}); empty for an unknown command. */
    Set<String> categoriesOf(String command);

    /**
     * The categories of {@code command}'s subcommand {@code subcommand} (lowercase; null for none), which
     * may differ from its container's, as ACL WHOAMI is not {@code @dangerous} while ACL is.
     */
    default Set<String> categoriesOf(String command, String subcommand) {
        return categoriesOf(command);
    }

    /** True if {@code command} (lowercase) is a container whose first argument names a subcommand. */
    default boolean hasSubcommands(String command) {
        return false;
    }

    /**
     * The subcommands Redis 7 knows of the container {@code command} (lowercase names), which ACL rules may name
     * ({@code +config|get}); null if Redis has no subcommands for it, when {@code +command|arg} allows a first
     * argument of any value. None by default.
     */
    default Set<String> subcommands(String command) {
        return null;
    }
}
