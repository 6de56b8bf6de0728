package io.trelliskv.node;

/** The build's version, from the jar manifest when there is one. */
final class BuildInfo {

    private BuildInfo() {
    }

    static String version() {
        String v = BuildInfo.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
