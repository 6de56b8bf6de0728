package io.trelliskv.version;

/**
 * The version of a write: the coordinator's hybrid-logical-clock timestamp and its node id. Versions
 * are totally ordered — by timestamp, then node id — so every replica picks the same winner between two
 * writes (last writer wins) and applying the same version twice changes nothing.
 *
 * @param hlc    packed hybrid logical clock timestamp, see {@link Hlc}
 * @param nodeId id of the node that stamped the write
 */
public record Version(long hlc, long nodeId) implements Comparable<Version> {

    /** Sorts below every real version. */
    public static final Version ZERO = new Version(0, 0);

    @Override
    public int compareTo(Version o) {
        return compare(hlc, nodeId, o.hlc, o.nodeId);
    }

    /** The LWW order on unpacked versions, for storage that keeps the two fields inline. */
    public static int compare(long hlcA, long nodeA, long hlcB, long nodeB) {
        int c = Long.compare(hlcA, hlcB);
        return c != 0 ? c : Long.compareUnsigned(nodeA, nodeB);
    }

    public boolean isNewerThan(Version o) {
        return compareTo(o) > 0;
    }

    /** As INFO and the log print a version that may be unset: {@code physicalMillis.logical@nodeId}, or none for {@link #ZERO}. */
    public String describe() {
        return equals(ZERO) ? "none" : toString();
    }

    @Override
    public String toString() {
        return Hlc.physical(hlc) + "." + Hlc.logical(hlc) + "@" + Long.toHexString(nodeId);
    }
}
