# Shared by the bench scripts (bash, sourced after `cd` to the repository root):
#
#   JAVA_HOME, JAVA   the JDK: $JAVA_HOME if set, else the one bin/trellis would pick (bin/_jdk.sh: the
#                     newest 21+ on the PATH or in the usual folders, else the newest 17+). JAVA_HOME is
#                     not exported here: a script whose tools (bin/trellis, mvnw) should run on it exports it.
#   TRELLIS_JAVA_OPTS the JVM options for the nodes; each script sets its own default, as
#                     TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:-...}.
#   PLATFORM_OPTS     the options bin/trellis gives every node besides TRELLIS_JAVA_OPTS, for this JDK
#                     (bin/_jdk.sh, trellis_platform_opts): a script that starts nodes with "$JAVA" adds them.
#   free_port [IP...] a port free a moment ago for TCP and UDP on every IP (default 127.0.0.1): a node
#                     takes both on its port.
#   PIDS              processes to stop on exit: add each one started in the background, PIDS+=("$!").
#   TMP               a private directory (bench_tmp), removed on exit.
#   bench_jar         bench_tmp, then JAR: a private copy in TMP of $JAR, or of target/trelliskv.jar (built if
#                     absent), with the lib/ beside it (the libraries its manifest's Class-Path names; a jar
#                     without one beside it is taken alone), so a concurrent rebuild of target/ cannot change
#                     them under the nodes; JAR_NOTE:
#                     "; jar: <path>" when JAR was given (for bench_header), else empty.
#   quorum_node IP [SEED_IP]
#                     starts $JAR on IP:$PORT in memory only, --replication-factor 3 with QUORUM reads and writes,
#                     joining SEED_IP:$PORT if given (alone, a single node); data in $TMP/data-IP, output in
#                     $TMP/node-IP.log; waits for PING; sets STARTED_PID (also added to PIDS). Needs bench_jar, PORT.
#   quorum_cluster IP1 IP2 IP3
#                     three quorum_nodes, the first the others' seed; waits (60 s at most) until each serves a ring
#                     of three; sets CLUSTER_PIDS.
#   cpu_ticks PID...  utime + stime of the processes, summed, in clock ticks (fields 14 and 15 of /proc/PID/stat).
#   jit_ticks PID...  the same for their JIT compiler threads alone (C1 and C2 CompilerThread). The JVM starts and
#                     stops some of them as its queue grows and shrinks, and a stopped one's time leaves the sum, so
#                     this can fall short of the time spent compiling.
#   jit_settle "PID..." COMMAND...
#                     runs COMMAND (a round of warm-up load) again and again until a round in which the JIT compilers
#                     of the processes took under 2 % of their CPU, at most JIT_SETTLE rounds (default 10); sets
#                     SETTLED to the rounds it took, "N+" if they never did. A JVM recompiles hot methods for
#                     millions of requests after it starts (paths taken late, methods deoptimized when a load
#                     starts or stops): a fixed warm-up leaves that in the first measured rounds, on one side only.
#   bench_certs D DAYS
#                     a CA (D/ca.crt), a server certificate for 127.0.0.1 and a client certificate (D/server.crt,
#                     D/client.crt; EC P-256, PKCS#8 keys beside them), valid DAYS days; D is made if needed.
#   bench_on_exit     if the script defines it, run first on exit (to undo what it changed on the machine).
#   bench_header [X]  the lines a benchmark's output starts with: machine, commit, JDK, JVM options (and X).
#   test_classpath D  compiles the test sources and sets CP for the in-process benchmarks (they live in the
#                     test sources); the classpath file is kept in D.
#
# On exit, also by failure or interrupt: bench_on_exit, then SIGTERM to every process in PIDS, a wait for
# each, and TMP removed.
# shellcheck shell=bash

. bin/_jdk.sh
if [ -z "${JAVA_HOME:-}" ]; then
    JAVA_HOME=$(trellis_find_jdk) || true
fi
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] \
    || { echo "$(basename "$0"): no JDK 17 or newer found: set JAVA_HOME or install one under /usr/lib/jvm" >&2; exit 1; }
JAVA="$JAVA_HOME/bin/java"
PLATFORM_OPTS=$(trellis_platform_opts "$(trellis_jdk_major "$(trellis_jdk_version "$JAVA_HOME")")")

free_port() { # [ip...]
    python3 - "${@:-127.0.0.1}" <<'EOF'
import socket, sys
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    try:
        held = []
        for ip in sys.argv[1:]:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                h = socket.socket(socket.AF_INET, kind); held.append(h); h.bind((ip, port))
        for h in held: h.close()
        print(port); break
    except OSError:
        for h in held: h.close()
EOF
}

bench_header() { # [extra text for the second line]
    echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "# trellis $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $("$JAVA" -version 2>&1 | head -n 1); JVM options: ${TRELLIS_JAVA_OPTS:-none}${1:+; $1}"
}

test_classpath() { # dir; sets CP
    ./mvnw -o -q test-compile dependency:build-classpath -Dmdep.outputFile="$1/classpath.txt" -Dmdep.includeScope=test
    CP="target/classes:target/test-classes:$(cat "$1/classpath.txt")"
}

bench_tmp() { # sets TMP
    TMP=$(mktemp -d)
}

bench_jar() { # sets TMP, JAR and JAR_NOTE
    JAR_NOTE=${JAR:+; jar: $JAR}
    if [ -z "${JAR:-}" ]; then
        [ -f target/trelliskv.jar ] || ./mvnw -B -q -DskipTests package
        JAR=target/trelliskv.jar
    fi
    bench_tmp
    cp "$JAR" "$TMP/trelliskv.jar"
    if [ -d "$(dirname "$JAR")/lib" ]; then cp -r "$(dirname "$JAR")/lib" "$TMP/lib"; fi
    JAR="$TMP/trelliskv.jar"
}

quorum_node() { # ip [seed ip] -> STARTED_PID
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main "$PORT" \
        ${2:+"$2:$PORT"} --host "$1" --data-dir "$TMP/data-$1" --appendonly no \
        --replication-factor 3 --read-consistency QUORUM --write-consistency QUORUM >>"$TMP/node-$1.log" 2>&1 &
    STARTED_PID=$!; PIDS+=("$STARTED_PID")
    for _ in $(seq 1 300); do
        [ "$(redis-cli -h "$1" -p "$PORT" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "node $1:$PORT did not answer PING" >&2; return 1
}

single_node() { # ip -> STARTED_PID: a node of no cluster, as bin/trellis PORT starts one
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main "$PORT" --host "$1" \
        --data-dir "$TMP/data-$1" --appendonly no >>"$TMP/node-$1.log" 2>&1 &
    STARTED_PID=$!; PIDS+=("$STARTED_PID")
    for _ in $(seq 1 300); do
        [ "$(redis-cli -h "$1" -p "$PORT" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "node $1:$PORT did not answer PING" >&2; return 1
}

quorum_cluster() { # ip1 ip2 ip3 -> CLUSTER_PIDS
    local ip settled
    quorum_node "$1"; CLUSTER_PIDS=("$STARTED_PID")
    quorum_node "$2" "$1"; CLUSTER_PIDS+=("$STARTED_PID")
    quorum_node "$3" "$1"; CLUSTER_PIDS+=("$STARTED_PID")
    for _ in $(seq 1 600); do
        settled=yes
        for ip in "$@"; do
            [ "$(redis-cli -h "$ip" -p "$PORT" info cluster 2>/dev/null | tr -d '\r' | sed -n 's/^ring_nodes://p')" = 3 ] \
                || settled=no
        done
        [ "$settled" = yes ] && return 0
        sleep 0.1
    done
    echo "3-node cluster did not settle within 60 s" >&2; return 1
}

bench_certs() { # dir days
    local c=$1 who
    mkdir -p "$c"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$c/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$c/ca.key" -days "$2" -subj /CN=bench-ca -out "$c/ca.crt" 2>/dev/null
    for who in server client; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$c/$who.key" 2>/dev/null
        openssl req -new -key "$c/$who.key" -subj "/CN=$who" -out "$c/$who.csr" 2>/dev/null
        echo "subjectAltName=IP:127.0.0.1" >"$c/ext"
        openssl x509 -req -in "$c/$who.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial -days "$2" \
            -extfile "$c/ext" -out "$c/$who.crt" 2>/dev/null
    done
}

cpu_ticks() { # pid...
    local t=0 p
    for p in "$@"; do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
    echo "$t"
}

jit_ticks() { # pid...
    local p task files=()
    for p in "$@"; do
        for task in /proc/"$p"/task/*; do
            [[ "$(cat "$task/comm" 2>/dev/null)" == C[12]\ Compiler* ]] && files+=("$task/stat")
        done
    done
    [ "${#files[@]}" -gt 0 ] || { echo 0; return; }
    cat "${files[@]}" 2>/dev/null | sed 's/^.*) //' | awk '{t += $12 + $13} END {print t + 0}'
}

jit_settle() { # "pid..." command... -> SETTLED
    local pids i t0 t1 j0 j1
    read -r -a pids <<<"$1"; shift
    for i in $(seq 1 "${JIT_SETTLE:-10}"); do
        t0=$(cpu_ticks "${pids[@]}"); j0=$(jit_ticks "${pids[@]}")
        "$@"
        t1=$(cpu_ticks "${pids[@]}"); j1=$(jit_ticks "${pids[@]}")
        if [ $(((j1 > j0 ? j1 - j0 : 0) * 50)) -le $((t1 - t0)) ]; then SETTLED=$i; return; fi
    done
    SETTLED="${JIT_SETTLE:-10}+"
}

PIDS=()
TMP=""
bench_cleanup() {
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
