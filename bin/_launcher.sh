# Shared by bin/trellis and bin/trellis-cli (POSIX sh, sourced): finds java and makes sure the jar
# exists and is newer than the sources, building it first if not.

TRELLIS_HOME=$(cd "$(dirname "$0")/.." && pwd)
TRELLIS_JAR="$TRELLIS_HOME/target/trelliskv.jar"

if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"
elif command -v java >/dev/null 2>&1; then
    JAVA=java
else
    echo "$(basename "$0"): no java found: install JDK 17 or newer, or set JAVA_HOME" >&2
    exit 1
fi

jar_is_stale() {
    [ ! -f "$TRELLIS_JAR" ] && return 0
    [ -n "$(find "$TRELLIS_HOME/src/main" "$TRELLIS_HOME/pom.xml" -newer "$TRELLIS_JAR" -print 2>/dev/null | head -n 1)" ]
}

build_jar() {
    echo "$(basename "$0"): building $TRELLIS_JAR (missing or older than the sources)..." >&2
    log="$TRELLIS_HOME/target/build.log"
    mkdir -p "$TRELLIS_HOME/target"
    if ! (cd "$TRELLIS_HOME" && ./mvnw -B -q -DskipTests package >"$log" 2>&1); then
        echo "$(basename "$0"): build failed; see $log" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

if jar_is_stale; then
    if command -v flock >/dev/null 2>&1; then
        # Several launchers started at once build once: the others wait, then find the jar fresh.
        mkdir -p "$TRELLIS_HOME/target"
        exec 9>"$TRELLIS_HOME/target/.build.lock"
        flock 9
        if jar_is_stale; then build_jar; fi
        flock -u 9
        exec 9>&-
    else
        build_jar
    fi
fi
