package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The versioned set checker on hand-made histories: every acknowledged element must be in every final
 * VGET once its siblings are merged; refused or unwritten elements must not be; siblings are counted.
 */
class VersionedSetCheckerTest {

    private static Op add(String key, String element, Op.Result result) {
        return new Op("1", "1@1.1", VersionedSetWorkload.VADD, key, element, 0, "QUORUM", 0, 10, result,
                result == Op.Result.OK ? null : result == Op.Result.FAIL ? "UNAVAILABLE" : "TIMEOUT");
    }

    private static Op vget(String key, int siblings, int elements) {
        return new Op("2", "2@3.1", VersionedSetWorkload.VGET, key, "siblings=" + siblings + " elements=" + elements, 0,
                "QUORUM", 20, 30, Op.Result.OK, null);
    }

    /** A final VGET of {@code key} through {@code session}: the siblings, each a comma-separated list. */
    private static Op finalVget(String key, String session, String... siblings) {
        return new Op("final", session, VersionedSetWorkload.VGET, key,
                siblings.length == 0 ? null : String.join(VersionedSetChecker.SIBLING_SEPARATOR, siblings), 0,
                session.startsWith("all") ? "ALL" : "ONE", 100, 101, Op.Result.OK, null);
    }

    private static VersionedSetChecker.Result check(Op... ops) {
        return VersionedSetChecker.check(new ArrayList<>(List.of(ops)), true, "");
    }

    private static boolean passed(VersionedSetChecker.Result r, String name) {
        return r.checks().stream().filter(c -> c.name().startsWith(name)).findFirst().orElseThrow().passed();
    }

    private final Op a = add("v:0.0", "1.1", Op.Result.OK);
    private final Op b = add("v:0.0", "2.1", Op.Result.OK);
    private final Op maybe = add("v:0.0", "3.1", Op.Result.INFO);
    private final Op refused = add("v:0.0", "4.1", Op.Result.FAIL);

    @Test
    void everyAcknowledgedElementAcrossSiblingsPasses() {
        VersionedSetChecker.Result r = check(a, b, maybe, refused, vget("v:0.0", 2, 2),
                finalVget("v:0.0", "all@n1", "1.1,3.1", "2.1"), finalVget("v:0.0", "n1", "1.1,2.1,3.1"),
                finalVget("v:0.0", "n2", "2.1", "1.1,3.1"));
        assertThat(r.checks()).allMatch(Checker.Check::passed);
        assertThat(r.acknowledged()).isEqualTo(2);
        assertThat(r.indeterminate()).isEqualTo(1);
        assertThat(r.indeterminatePresent()).isEqualTo(1);
        assertThat(r.failed()).isEqualTo(1);
        assertThat(r.readsWithSiblings()).isEqualTo(1);
        assertThat(r.maxFinalSiblings()).isEqualTo(2);
        assertThat(VersionedSetChecker.report(r)).contains("lost 0, phantoms 0").contains("1 of 1 VGETs saw more than one");
    }

    @Test
    void anAcknowledgedElementMissingFromAnyFinalReadIsLost() {
        VersionedSetChecker.Result r = check(a, b, finalVget("v:0.0", "all@n1", "1.1,2.1"), finalVget("v:0.0", "n2", "1.1"));
        assertThat(passed(r, "versioned: acknowledged elements lost")).isFalse();
        assertThat(r.lost()).isEqualTo(1);
        assertThat(passed(r, "versioned: every node reads the same")).isFalse();
        assertThat(passed(check(a, finalVget("v:0.0", "all@n1")), "versioned: acknowledged elements lost"))
                .as("a key read as missing").isFalse();
        assertThat(passed(check(maybe, finalVget("v:0.0", "all@n1")), "versioned: acknowledged elements lost"))
                .as("an indeterminate element may be missing").isTrue();
    }

    @Test
    void aVgetThatLackedAnElementAcknowledgedBeforeItFails() {
        Op lacking = new Op("2", "2@3.1", VersionedSetWorkload.VGET, "v:0.0", "siblings=1 elements=1 missing=1", 0,
                "QUORUM", 20, 30, Op.Result.OK, "missing acknowledged 1.1 (acknowledged at 10 ms)");
        String name = "versioned: every VGET of the run";
        assertThat(passed(check(a, lacking, finalVget("v:0.0", "all@n1", "1.1")), name)).isFalse();
        assertThat(passed(check(a, vget("v:0.0", 1, 1), finalVget("v:0.0", "all@n1", "1.1")), name)).isTrue();
        assertThat(check(a, lacking).readsMissing()).isEqualTo(1);
    }

    @Test
    void refusedOrUnwrittenElementsArePhantoms() {
        assertThat(passed(check(a, refused, finalVget("v:0.0", "all@n1", "1.1,4.1")), "versioned: no phantom")).isFalse();
        assertThat(passed(check(a, finalVget("v:0.0", "all@n1", "1.1,9.9")), "versioned: no phantom")).isFalse();
    }

    @Test
    void everyFinalReadMustComplete() {
        Op failed = new Op("final", "n3", VersionedSetWorkload.VGET, "v:0.0", null, 0, "ONE", 100, 101, Op.Result.FAIL,
                "TIMEOUT");
        assertThat(passed(check(a, finalVget("v:0.0", "all@n1", "1.1"), failed), "versioned: final VGETs")).isFalse();
        assertThat(passed(check(a), "versioned: final VGETs")).as("no final read").isFalse();
    }
}
