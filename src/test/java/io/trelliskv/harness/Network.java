package io.trelliskv.harness;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The harness's network: one Linux network namespace per node, joined by a bridge, and the iptables
 * rules that break it.
 *
 * <h2>Layout</h2>
 * For run id {@code R} (so that concurrent runs never share anything): bridge {@code tkhRbr} with
 * address {@code 10.77.R.1/24} in the root namespace, where the harness and its clients run; node
 * {@code i} (1-based) in namespace {@code tkhR-n<i>} with {@code eth0} at {@code 10.77.R.(10+i)},
 * joined to the bridge by the veth pair {@code tkhRv<i>}. Each node has its own address and its own
 * firewall, so its outgoing connections carry its own source address (on loopback they would all
 * come from 127.0.0.1).
 *
 * <h2>Faults</h2>
 * All faults are rules in the INPUT chain of the receiving node's namespace, and only ever match
 * packets from other nodes' addresses, never from the bridge address: clients can always reach every
 * node, as in Jepsen, and the nemesis breaks only node-to-node traffic (TCP replication and UDP gossip
 * alike). Dropping {@code a → b} is a rule in b's namespace; a partition drops both directions; loss
 * is the {@code statistic} match. {@link #heal} flushes the chain in every namespace.
 *
 * <h2>Cleanup</h2>
 * {@link #cleanup} removes every namespace and link with this run's prefix, whoever made them, so a
 * run always starts from nothing and a crashed run is cleaned by the next one. Deleting a namespace
 * deletes its rules and its end of the veth pair.
 */
final class Network {

    private final int runId;
    private final int nodes;

    Network(int runId, int nodes) {
        if (runId < 1 || runId > 250) {
            throw new IllegalArgumentException("run id: " + runId + " (expected: 1..250)");
        }
        if (nodes < 1 || nodes > 200) {
            throw new IllegalArgumentException("nodes: " + nodes + " (expected: 1..200)");
        }
        this.runId = runId;
        this.nodes = nodes;
    }

    String prefix() {
        return "tkh" + runId;
    }

    String bridge() {
        return prefix() + "br";
    }

    String namespace(int node) {
        return prefix() + "-n" + node;
    }

    /** The node's address, 1-based. */
    String address(int node) {
        return "10.77." + runId + "." + (10 + node);
    }

    String bridgeAddress() {
        return "10.77." + runId + ".1";
    }

    /** Builds the bridge and the namespaces; fails with the tool's message if the machine cannot. */
    void create() {
        cleanup();
        Shell.check("ip", "link", "add", bridge(), "type", "bridge");
        Shell.check("ip", "addr", "add", bridgeAddress() + "/24", "dev", bridge());
        Shell.check("ip", "link", "set", bridge(), "up");
        for (int i = 1; i <= nodes; i++) {
            String ns = namespace(i);
            String veth = prefix() + "v" + i;
            Shell.check("ip", "netns", "add", ns);
            Shell.check("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.check("ip", "link", "set", veth, "master", bridge(), "up");
            Shell.check("ip", "-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0");
            Shell.check("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.check("ip", "-n", ns, "link", "set", "lo", "up");
            iptables(i, "-F", "INPUT"); // fails here, with a clear message, if iptables is missing
        }
    }

    /** Removes every namespace and link of this run id; quiet about what is not there. */
    void cleanup() {
        String namespaces = Shell.run("ip", "netns", "list").output();
        for (String line : namespaces.split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (name.startsWith(prefix() + "-n")) {
                Shell.run("ip", "netns", "del", name);
            }
        }
        String links = Shell.run("ip", "-o", "link", "show").output();
        for (String line : links.split("\n")) {
            String[] parts = line.split(":\\s+");
            if (parts.length < 2) {
                continue;
            }
            String name = parts[1].split("@")[0];
            if (name.equals(bridge()) || name.matches(prefix() + "v\\d+")) {
                Shell.run("ip", "link", "del", name);
            }
        }
    }

    /** Drops every packet from node {@code from} to node {@code to} (both 1-based). */
    void drop(int from, int to) {
        iptables(to, "-A", "INPUT", "-s", address(from), "-j", "DROP");
    }

    /** Drops each packet from every other node to {@code node} with probability {@code p}. */
    void loss(int node, double p) {
        for (int from = 1; from <= nodes; from++) {
            if (from != node) {
                iptables(node, "-A", "INPUT", "-s", address(from), "-m", "statistic", "--mode", "random",
                        "--probability", String.format(java.util.Locale.ROOT, "%.3f", p), "-j", "DROP");
            }
        }
    }

    /** Cuts every link between the two groups, both ways. */
    void partition(Collection<Integer> a, Collection<Integer> b) {
        for (int x : a) {
            for (int y : b) {
                drop(x, y);
                drop(y, x);
            }
        }
    }

    /** Removes every rule on every node; returns the nodes where that failed (e.g. the tool timed out). */
    List<Integer> heal() {
        List<Integer> failed = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            if (!Shell.run("ip", "netns", "exec", namespace(i), "iptables", "-F", "INPUT").ok()) {
                failed.add(i);
            }
        }
        return failed;
    }

    private void iptables(int node, String... rule) {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", namespace(node), "iptables", "-w", "5"));
        command.addAll(List.of(rule));
        Shell.Result r = Shell.run(command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.output().strip()
                    + " (is iptables installed? .ci/run installs it)");
        }
    }
}
