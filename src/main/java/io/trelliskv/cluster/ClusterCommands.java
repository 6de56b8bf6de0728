package io.trelliskv.cluster;

import io.trelliskv.command.Args;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.membership.Member;
import io.trelliskv.ring.TokenRing;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * MEMBERS and RING: the cluster as this node sees it, as text for people ({@code trellis-cli HOST:PORT
 * members}). MEMBERS lists node id, address, state, incarnation and primary ownership; RING lists each
 * node's tokens and ownership, or every token with {@code RING TOKENS}.
 */
public final class ClusterCommands {

    private final ClusterState cluster;

    public ClusterCommands(ClusterState cluster) {
        this.cluster = cluster;
    }

    public void registerInto(CommandTable t) {
        t.register("members", 1, EnumSet.of(ADMIN, LOADING, STALE), (c, a, out) -> out.verbatim(members()));
        t.register("ring", -1, EnumSet.of(ADMIN, LOADING, STALE), (c, a, out) -> {
            if (a.length == 2 && Args.is(a[1], "TOKENS")) {
                out.verbatim(cluster.ring().describeTokens());
            } else if (a.length == 1) {
                out.verbatim(cluster.ring().describe(1));
            } else {
                throw CommandException.syntax();
            }
        });
    }

    String members() {
        TokenRing ring = cluster.ring();
        Map<Long, Double> ownership = ring.ownership();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-16s  %-21s  %-7s  %11s  %9s%n",
                "node", "address", "state", "incarnation", "ownership"));
        List<Member> members = cluster.members();
        for (Member m : members) {
            String self = m.id() == cluster.localNodeId() ? " (this node)" : "";
            sb.append(String.format(Locale.ROOT, "%016x  %-21s  %-7s  %11d  %8.2f%%%s%n", m.id(),
                    m.address().host() + ":" + m.address().port(), m.state(), m.incarnation(),
                    ownership.getOrDefault(m.id(), 0.0) * 100, self));
        }
        return sb.toString();
    }
}
