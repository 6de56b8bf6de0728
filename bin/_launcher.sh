# Shared by bin/trellis and bin/trellis-cli (POSIX sh, sourced): finds the JDK (sets TRELLIS_JDK, JAVA)
# and makes sure the jar exists, is newer than the sources and has its libraries in target/lib, building it first if not.

TRELLIS_HOME=$(CDPATH= cd -- "$(dirname "$0")/.." && pwd)
TRELLIS_JAR="$TRELLIS_HOME/target/trelliskv.jar"

. "$TRELLIS_HOME/bin/_jdk.sh"
# The JDK (bin/_jdk.sh): $JAVA_HOME if set, else the newest 21+ found (java on the PATH, /usr/lib/jvm,
# ...), else the newest 17+.
if ! TRELLIS_JDK=$(trellis_find_jdk); then
    echo "$(basename "$0"): no JDK 17 or newer found (looked at java on the PATH and /usr/lib/jvm, /usr/local, /opt, ~/.sdkman, /Library/Java): install JDK 21 or newer, or set JAVA_HOME" >&2
    exit 1
fi
JAVA="$TRELLIS_JDK/bin/java"
TRELLIS_JDK_MAJOR=$(trellis_jdk_major "$(trellis_jdk_version "$TRELLIS_JDK")")
if [ "$TRELLIS_JDK_MAJOR" -lt 17 ]; then # only JAVA_HOME can name one: the search skips them
    echo "$(basename "$0"): JAVA_HOME is $TRELLIS_JDK, a JDK $TRELLIS_JDK_MAJOR; TrellisKV needs JDK 17 or newer (21 or newer for its default collector): point JAVA_HOME at one, or unset it to let the launcher find one" >&2
    exit 1
fi

jar_is_stale() {
    # The jar runs with the libraries in target/lib/ beside it, which its manifest names.
    [ ! -f "$TRELLIS_JAR" ] || [ ! -d "$TRELLIS_HOME/target/lib" ] && return 0
    [ -n "$(find "$TRELLIS_HOME/src/main" "$TRELLIS_HOME/pom.xml" -newer "$TRELLIS_JAR" -print 2>/dev/null | head -n 1)" ]
}

build_jar() {
    echo "$(basename "$0"): building $TRELLIS_JAR (missing, older than the sources, or without its libraries in target/lib)..." >&2
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
