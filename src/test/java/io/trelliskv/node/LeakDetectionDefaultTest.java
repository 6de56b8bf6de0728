package io.trelliskv.node;

import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node turns Netty's leak detection off unless the JVM's options ask for a level
 * ({@link Main#quietLeakDetection}).
 */
class LeakDetectionDefaultTest {

    private static final String PROPERTY = "io.netty.leakDetection.level";
    private ResourceLeakDetector.Level levelBefore;
    private String propertyBefore;

    @BeforeEach
    void remember() {
        levelBefore = ResourceLeakDetector.getLevel();
        propertyBefore = System.getProperty(PROPERTY);
    }

    @AfterEach
    void restore() {
        ResourceLeakDetector.setLevel(levelBefore);
        if (propertyBefore == null) {
            System.clearProperty(PROPERTY);
        } else {
            System.setProperty(PROPERTY, propertyBefore);
        }
    }

    @Test
    void offWhenNoLevelIsAskedFor() {
        System.clearProperty(PROPERTY);
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);

        Main.quietLeakDetection();

        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
    }

    @Test
    void theAskedForLevelIsKept() {
        System.setProperty(PROPERTY, "paranoid");
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);

        Main.quietLeakDetection();

        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
    }
}
