package io.trelliskv.cluster;

import io.trelliskv.repair.RepairStatus;

/** What {@link RepairCommands} may do with anti-entropy; each call throws {@link io.trelliskv.common.RefusedException} if it cannot. */
public interface RepairControl {

    /** Asks for a round; its number. */
    long requestRepair();

    /** The latest round's progress. */
    RepairStatus status();
}
