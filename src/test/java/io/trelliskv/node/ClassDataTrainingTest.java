package io.trelliskv.node;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The training run bin/trellis makes its class-data archive with: it must work on a fresh machine
 * (it starts and restarts a node and talks to it); a failure would only cost later starts their
 * archive, silently, so it is pinned here.
 */
class ClassDataTrainingTest {

    @Test
    void startsUsesRestartsAndStopsANode() {
        assertThatCode(ClassDataTraining::train).doesNotThrowAnyException();
    }
}
