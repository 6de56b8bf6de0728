# Finding the JDK to run on (POSIX sh, sourced by bin/_launcher.sh and bench/lib.sh; defines functions only).
#
#   trellis_find_jdk          prints the JDK home to use: $JAVA_HOME when it has bin/java; otherwise the
#                             newest JDK 21 or later among the java on the PATH and the usual JVM folders,
#                             else the newest JDK 17 or later; status 1 (nothing printed) if none.
#   trellis_best_jdk DIR...   the same choice among the JDK homes given.
#   trellis_jdk_version DIR   the JDK's version ("25.0.3", "17.0.15", "1.8.0_292"): JAVA_VERSION from its
#                             release file, so no JVM is started; only a JDK without one is asked.
#   trellis_jdk_major VERSION the feature release: 25, 17, 8 for "1.8.0_292".
#   trellis_platform_opts MAJOR the JVM options every node runs with on a JDK of that feature release, whatever
#                             TRELLIS_JAVA_OPTS says (bin/trellis, and the bench scripts that start nodes).
#
# Why 21 first: the default collector, generational ZGC, arrived in 21 (docs/BENCHMARKS.md, "JVM
# defaults"); 17 still runs TrellisKV.

trellis_jdk_version() {
    _v=
    if [ -r "$1/release" ]; then
        _v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release" | head -n 1)
    fi
    if [ -z "$_v" ]; then
        _v=$("$1/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)
    fi
    echo "$_v"
}

trellis_jdk_major() {
    _m=${1%%[!0-9]*}
    if [ "$_m" = 1 ]; then
        _m=${1#1.}
        _m=${_m%%[!0-9]*}
    fi
    echo "${_m:-0}"
}

# Netty reaches its direct buffers through sun.misc.Unsafe; from JDK 25 it turns that off unless the JVM
# allows it (the JVM warns on such use from 24), and goes through slower ByteBuffer accessors instead
# (12 % of a SET -P 16 profile on JDK 25). Allowed, where the flag exists (JDK 23+). Native access: the
# epoll transport's library.
trellis_platform_opts() {
    if [ "${1:-0}" -ge 23 ] 2>/dev/null; then
        echo "--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
    else
        echo "--enable-native-access=ALL-UNNAMED"
    fi
}

# A number that orders versions: major, minor, patch (25.0.3 -> 25000003).
trellis_jdk_rank() {
    echo "$1" | awk -F'[^0-9]+' '{ if ($1 == 1) { $1 = $2; $2 = $3; $3 = 0 }
        printf "%d\n", $1 * 1000000 + $2 * 1000 + $3 }'
}

trellis_best_jdk() {
    _best= _best_rank=-1 _best_modern=0
    for _d in "$@"; do
        [ -x "$_d/bin/java" ] || continue
        _ver=$(trellis_jdk_version "$_d")
        _maj=$(trellis_jdk_major "$_ver")
        [ "$_maj" -ge 17 ] || continue
        _modern=0
        [ "$_maj" -ge 21 ] && _modern=1
        _rank=$(trellis_jdk_rank "$_ver")
        # A JDK 21+ beats any 17-20; within the same class, the newer version wins (the first on a tie).
        if [ "$_modern" -gt "$_best_modern" ] || { [ "$_modern" -eq "$_best_modern" ] && [ "$_rank" -gt "$_best_rank" ]; }; then
            _best=$_d _best_rank=$_rank _best_modern=$_modern
        fi
    done
    [ -n "$_best" ] && echo "$_best"
}

trellis_find_jdk() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        echo "${JAVA_HOME%/}"
        return 0
    fi
    _path_jdk=
    if _j=$(command -v java 2>/dev/null) && [ -n "$_j" ]; then
        # /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/X/bin/java: the home is two levels up.
        _j=$(readlink -f "$_j" 2>/dev/null || echo "$_j")
        _path_jdk=$(dirname "$(dirname "$_j")")
    fi
    # A pattern that matches nothing stays as written and fails the bin/java test. TRELLIS_JDK_ROOT (tests
    # only) puts the folders under a fake root.
    _r=${TRELLIS_JDK_ROOT:-}
    set -- ${_path_jdk:+"$_path_jdk"} "$_r"/usr/lib/jvm/* "$_r"/usr/local/*jdk* "$_r"/opt/*jdk* "$HOME"/.sdkman/candidates/java/* \
        "$_r"/Library/Java/JavaVirtualMachines/*/Contents/Home
    trellis_best_jdk "$@"
}
