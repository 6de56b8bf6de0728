#!/usr/bin/env bash
# Scaling checks for a machine with many cores, where neither a JDK nor Redis is installed: it runs what
# bench/device/pack.sh packed (a Java runtime, the jar, redis-server and redis-benchmark) and answers, in one
# run of about five minutes on 16 cores, what issues 13 and 15 ask of such a machine:
#
#   1. One node beside redis-server (single-threaded, and with --io-threads 4), SET and GET of 100-byte values
#      at -P 1 and -P 16 from redis-benchmark --threads THREADS with CLIENTS connections: ops/s and p99.
#   2. Three nodes (--replication-factor 3, QUORUM reads and writes, --io-threads CLUSTER_IO each) with the load
#      through one node: ops/s against the single node of part 1; the CPU time of all three per 1,000 SETs at
#      -P 16 against the single node's; each node's busiest threads in a SET round at -P 16 (a thread near 100 %
#      of a core while the others idle is a serialization); the same load spread over the three nodes.
#   3. A single node with --io-threads CLUSTER_IO, for the CPU per 1,000 SETs like for like.
#   4. TLS (issue 15): one node and redis-server, each with a plaintext and a TLS port (the bundle's certificates,
#      clients authenticated), SET and GET at -P 1 and -P 16 on each port: TLS against plaintext, and against
#      redis-server's TLS, where the load generator's own TLS does not take the servers' cores as on two.
#
# With the device tool: `bench/device/pack.sh` here, then run `bash bench/device/run.sh` with carry
# ["bench/out/device"]. There, $OUT is the folder whose files come back: results.txt (what this prints),
# entry-cpu.collapsed.gz (async-profiler's CPU samples of the cluster's entry node in part 2, by thread, for a
# flame graph) and logs.txt (the end of every server's log). Anywhere else OUT defaults to
# bench/out/device/results. A part that fails is reported and the next one goes on; a part not begun
# DEADLINE seconds after the start is skipped, so the run ends in time.
#
# Environment: BUNDLE (default bench/out/device/bundle.tgz), OUT, SECS (seconds a measured run aims at,
# default 2), ROUNDS (measured runs per cell, alternating between servers; default 2), THREADS (redis-benchmark
# --threads, default 8), CLIENTS (default 200), CLUSTER_IO (default 4), DEADLINE (default 420), PARTS (the parts to
# run, default "1 2 3 4"; part 2 compares with part 1's figures).
# On a small machine, to try the script: THREADS=1 CLIENTS=50 SECS=1 ROUNDS=1 CLUSTER_IO=1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUNDLE=${BUNDLE:-bench/out/device/bundle.tgz}
OUT=${OUT:-bench/out/device/results}
SECS=${SECS:-2}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-8}
CLIENTS=${CLIENTS:-200}
CLUSTER_IO=${CLUSTER_IO:-4}
DEADLINE=${DEADLINE:-420}
PARTS=${PARTS:-1 2 3 4}
KEYSPACE=1000000

[ -f "$BUNDLE" ] || { echo "run.sh: no $BUNDLE: make it with bench/device/pack.sh" >&2; exit 1; }
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }

W=$(mktemp -d /tmp/trellis-device.XXXXXX)
tar -C "$W" -xzf "$BUNDLE" || { echo "run.sh: cannot unpack $BUNDLE" >&2; rm -rf "$W"; exit 1; }
JAVA_HOME=$W/jrt
. bench/lib.sh # cpu_ticks, jit_ticks, jit_settle; stops what PIDS holds and removes TMP on exit
TMP=$W
bench_on_exit() {
    for f in "$W"/*.log; do
        [ -f "$f" ] && { echo "==> $(basename "$f") (last 40 lines)"; tail -n 40 "$f"; }
    done >"$OUT/logs.txt" 2>/dev/null
}
JAR=$W/app/trelliskv.jar
export LD_LIBRARY_PATH=$W/redis/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
RS=$W/redis/redis-server
RB=$W/redis/redis-benchmark
RC=$W/redis/redis-cli
# As bin/trellis starts a node on this JDK with no TRELLIS_JAVA_OPTS.
NODE_OPTS="-XX:+UseZGC -XX:-ZProactive $PLATFORM_OPTS"
HZ=$(getconf CLK_TCK)

late() { # part name -> true (and says so) once DEADLINE has passed; true (quietly) for a part not in PARTS
    case " $PARTS " in *" ${1#part } "*) ;; *) return 0 ;; esac
    if [ "$SECONDS" -ge "$DEADLINE" ]; then say "# $1: skipped, ${SECONDS}s into the run (DEADLINE $DEADLINE)"; return 0; fi
    return 1
}

wait_ping() { # host port pid name: until the server answers PING, it exits (its log, name.log, says why), or 30 s pass
    local i
    for i in $(seq 1 300); do
        [ "$("$RC" -h "$1" -p "$2" ping 2>/dev/null)" = PONG ] && return 0
        kill -0 "$3" 2>/dev/null || { say "# the server for $1:$2 exited: $(tail -n 1 "$W/$4.log" 2>/dev/null)"; return 1; }
        sleep 0.1
    done
    say "# $1:$2 did not answer PING in 30 s"; return 1
}

node() { # name host port [node options...] -> STARTED_PID; JVM options from NODE_OPTS and AGENT
    local name=$1 host=$2 port=$3
    shift 3
    # shellcheck disable=SC2086
    "$JAVA" $NODE_OPTS ${AGENT:-} -cp "$JAR" io.trelliskv.node.Main "$port" --host "$host" \
        --data-dir "$W/data-$name" --appendonly no "$@" >"$W/$name.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_ping "$host" "$port" "$STARTED_PID" "$name"
}

redis() { # name port [redis-server options...] -> STARTED_PID
    local name=$1 port=$2
    shift 2
    "$RS" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile "$W/$name.log" "$@" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_ping 127.0.0.1 "$port" "$STARTED_PID" "$name"
}

stop() { # pid...: SIGTERM and wait
    local p
    for p in "$@"; do kill "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
}

bench() { # host port pipeline test requests [threads clients [redis-benchmark options...]] -> "ops/s p50 p99"
    local h=$1 port=$2 p=$3 test=$4 n=$5 t=${6:-$THREADS} c=${7:-$CLIENTS}
    shift $(($# < 7 ? $# : 7))
    # A redis-benchmark whose server went away waits for it forever: each run is bounded. Empty if it failed.
    timeout $((SECS * 20 + 60)) "$RB" -h "$h" -p "$port" --threads "$t" -c "$c" -n "$n" -d 100 -r "$KEYSPACE" -P "$p" \
        -t "$test" --csv "$@" 2>/dev/null | tail -n 1 | tr -d '"' | awk -F, '$2 + 0 > 0 {print int($2), $5, $7}'
}

requests_for() { # host port pipeline test [redis-benchmark options...] -> a request count for about SECS seconds
    local first=$(($3 == 1 ? 20000 : 200000)) rate
    rate=$(bench "$1" "$2" "$3" "$4" "$first" "$THREADS" "$CLIENTS" "${@:5}" | awk '{print $1}')
    rate=${rate:-0}
    echo $((rate * SECS > first ? rate * SECS : first))
}

warm() { # host port: SETs and GETs at -P 16 and -P 1, a second or so each
    bench "$1" "$2" 16 set,get 400000 >/dev/null
    bench "$1" "$2" 1 set,get 40000 >/dev/null
}

per_thousand() { # CPU ticks, requests -> CPU ms per 1,000 requests
    awk -v d="$1" -v hz="$HZ" -v n="$2" 'BEGIN {printf "%.3f\n", d * 1e6 / hz / n}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }

threads_snapshot() { # pid -> "tid ticks name" per thread
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}')" \
            "$(tr ' ' '_' <"$t/comm" 2>/dev/null)"
    done
}

threads_top() { # before after seconds -> the busiest threads, as a share of one core
    join <(sort "$1") <(sort "$2") | awk -v s="$3" -v hz="$HZ" '{d = $4 - $2; if (d > 0) printf "%6.1f%%  %s\n", 100 * d / hz / s, $3}' \
        | sort -rn | head -n 10
}

say "# machine: $(nproc) cores, $(free -g 2>/dev/null | awk '/Mem:/ {print $2}') GiB; $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
say "# $(cat "$W/VERSION")"
say "# runtime: $("$JAVA" -version 2>&1 | head -n 1); node JVM options: $NODE_OPTS"
say "# redis-benchmark --threads $THREADS -c $CLIENTS -d 100 -r $KEYSPACE, runs of about ${SECS}s, median of $ROUNDS"

declare -A OPS
SINGLE_CPU=""

# ---- 1. One node beside redis-server --------------------------------------------------------------------------
if ! late "part 1"; then
    say ""
    say "## 1. One node (default --io-threads) beside redis-server (single-threaded; and --io-threads 4)"
    redis redis1 7601 && R1=$STARTED_PID
    redis redis4 7602 --io-threads 4 --io-threads-do-reads yes && R4=$STARTED_PID
    node single 127.0.0.1 7603 && T1=$STARTED_PID
    if [ -n "${R1:-}" ] && [ -n "${R4:-}" ] && [ -n "${T1:-}" ]; then
        JIT_SETTLE=4 jit_settle "$T1" warm 127.0.0.1 7603
        warm 127.0.0.1 7601; warm 127.0.0.1 7602
        say "# the node warmed up in $SETTLED rounds (until its JIT took under 2 % of its CPU in one); $(grep -o 'with [0-9]* I/O threads\?' "$W/single.log" | head -n 1)"
        say "$(printf '%-4s %-3s | %10s %10s %10s | %8s %8s | %s' test P redis redis-io4 trellis vs-redis vs-io4 'p99 ms: redis, redis-io4, trellis')"
        for P in 1 16; do
            for T in set get; do
                n=$(requests_for 127.0.0.1 7603 "$P" "$T")
                : >"$W/c1" ; : >"$W/c4"; : >"$W/ct"; : >"$W/p1"; : >"$W/p4"; : >"$W/pt"; : >"$W/cpu"
                for _ in $(seq 1 "$ROUNDS"); do
                    read -r o _ p < <(bench 127.0.0.1 7601 "$P" "$T" "$n"); echo "${o:-0}" >>"$W/c1"; echo "${p:-0}" >>"$W/p1"
                    read -r o _ p < <(bench 127.0.0.1 7602 "$P" "$T" "$n"); echo "${o:-0}" >>"$W/c4"; echo "${p:-0}" >>"$W/p4"
                    a=$(cpu_ticks "$T1")
                    read -r o _ p < <(bench 127.0.0.1 7603 "$P" "$T" "$n"); echo "${o:-0}" >>"$W/ct"; echo "${p:-0}" >>"$W/pt"
                    b=$(cpu_ticks "$T1")
                    per_thousand $((b - a)) "$n" >>"$W/cpu"
                done
                c1=$(median <"$W/c1"); c4=$(median <"$W/c4"); ct=$(median <"$W/ct")
                OPS[single-$T-$P]=$ct
                [ "$T$P" = set16 ] && SINGLE_CPU=$(median <"$W/cpu")
                say "$(printf '%-4s %-3s | %10s %10s %10s | %8s %8s | %s %s %s' "$T" "$P" "$c1" "$c4" "$ct" \
                    "$(ratio "$ct" "$c1")" "$(ratio "$ct" "$c4")" "$(median <"$W/p1")" "$(median <"$W/p4")" "$(median <"$W/pt")")"
            done
        done
        say "# the node's CPU per 1,000 SETs at -P 16: ${SINGLE_CPU:-?} ms"
    else
        say "# part 1 did not start (see logs.txt)"
    fi
    stop "${R1:-}" "${R4:-}" "${T1:-}"
fi

# ---- 2. Three nodes, the load through one -------------------------------------------------------------------
if ! late "part 2"; then
    say ""
    say "## 2. Three nodes, --replication-factor 3, QUORUM, --io-threads $CLUSTER_IO each; the load through the first"
    IPS=(127.0.0.21 127.0.0.22 127.0.0.23)
    CPORT=7700
    QUORUM=(--replication-factor 3 --read-consistency QUORUM --write-consistency QUORUM --io-threads "$CLUSTER_IO")
    CLUSTER=()
    if [ -f "$W/ap/libasyncProfiler.so" ]; then
        AGENT="-agentpath:$W/ap/libasyncProfiler.so=start,event=cpu,interval=1ms,threads,collapsed,file=$OUT/entry-cpu.collapsed"
    fi
    node entry "${IPS[0]}" "$CPORT" "${QUORUM[@]}" && CLUSTER+=("$STARTED_PID")
    AGENT=""
    node replica1 "${IPS[1]}" "$CPORT" "${IPS[0]}:$CPORT" "${QUORUM[@]}" && CLUSTER+=("$STARTED_PID")
    node replica2 "${IPS[2]}" "$CPORT" "${IPS[0]}:$CPORT" "${QUORUM[@]}" && CLUSTER+=("$STARTED_PID")
    settled=no
    [ "${#CLUSTER[@]}" = 3 ] && for _ in $(seq 1 600); do
        settled=yes
        for ip in "${IPS[@]}"; do
            [ "$("$RC" -h "$ip" -p "$CPORT" info cluster 2>/dev/null | tr -d '\r' | sed -n 's/^ring_nodes://p')" = 3 ] || settled=no
        done
        [ "$settled" = yes ] && break
        sleep 0.1
    done
    if [ "${#CLUSTER[@]}" = 3 ] && [ "$settled" = yes ]; then
        JIT_SETTLE=4 jit_settle "${CLUSTER[*]}" warm "${IPS[0]}" "$CPORT"
        say "# the cluster warmed up in $SETTLED rounds"
        say "$(printf '%-4s %-3s | %10s %10s | %8s | %s' test P single cluster ratio 'cluster p50, p99 ms')"
        CLUSTER_CPU=""; ENTRY_CPU=""
        for P in 1 16; do
            for T in set get; do
                n=$(requests_for "${IPS[0]}" "$CPORT" "$P" "$T")
                : >"$W/cc"; : >"$W/p50"; : >"$W/p99"; : >"$W/cpu"; : >"$W/cpue"
                for r in $(seq 1 "$ROUNDS"); do
                    a=$(cpu_ticks "${CLUSTER[@]}"); ae=$(cpu_ticks "${CLUSTER[0]}")
                    if [ "$T$P$r" = set161 ]; then
                        for i in 0 1 2; do threads_snapshot "${CLUSTER[$i]}" >"$W/th$i.a"; done
                        s0=$EPOCHREALTIME
                    fi
                    read -r o m p < <(bench "${IPS[0]}" "$CPORT" "$P" "$T" "$n")
                    if [ "$T$P$r" = set161 ]; then
                        s1=$(awk -v a="$s0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')
                        for i in 0 1 2; do threads_snapshot "${CLUSTER[$i]}" >"$W/th$i.b"; done
                    fi
                    b=$(cpu_ticks "${CLUSTER[@]}"); be=$(cpu_ticks "${CLUSTER[0]}")
                    echo "${o:-0}" >>"$W/cc"; echo "${m:-0}" >>"$W/p50"; echo "${p:-0}" >>"$W/p99"
                    per_thousand $((b - a)) "$n" >>"$W/cpu"
                    per_thousand $((be - ae)) "$n" >>"$W/cpue"
                done
                cc=$(median <"$W/cc")
                if [ "$T$P" = set16 ]; then CLUSTER_CPU=$(median <"$W/cpu"); ENTRY_CPU=$(median <"$W/cpue"); fi
                say "$(printf '%-4s %-3s | %10s %10s | %8s | %s %s' "$T" "$P" "${OPS[single-$T-$P]:-?}" "$cc" \
                    "$(ratio "$cc" "${OPS[single-$T-$P]:-0}")" "$(median <"$W/p50")" "$(median <"$W/p99")")"
            done
        done
        say "# CPU per 1,000 SETs at -P 16: the three nodes ${CLUSTER_CPU:-?} ms (the entry node ${ENTRY_CPU:-?}), a single node (part 1) ${SINGLE_CPU:-?}: $(ratio "${CLUSTER_CPU:-0}" "${SINGLE_CPU:-0}")"
        if [ -n "${s1:-}" ]; then
            for i in 0 1 2; do
                say "# the busiest threads of node $((i + 1)) ($([ "$i" = 0 ] && echo entry || echo replica)) in a SET round at -P 16, share of one core:"
                threads_top "$W/th$i.a" "$W/th$i.b" "$s1" | while read -r line; do say "    $line"; done
            done
        fi
        if [ "$SECONDS" -lt "$DEADLINE" ]; then
            say "# the same load spread over the three nodes (one redis-benchmark per node, a third of the threads and clients each):"
            t3=$(((THREADS + 2) / 3)); c3=$(((CLIENTS + 2) / 3))
            for P in 1 16; do
                for T in set get; do
                    n=$(requests_for "${IPS[0]}" "$CPORT" "$P" "$T")
                    n3=$((n / 3 > 1000 ? n / 3 : 1000))
                    spread=()
                    for i in 0 1 2; do
                        bench "${IPS[$i]}" "$CPORT" "$P" "$T" "$n3" "$t3" "$c3" >"$W/spread$i" &
                        spread+=("$!")
                    done
                    wait "${spread[@]}" 2>/dev/null
                    sum=$(cat "$W"/spread[012] | awk '{s += $1} END {print s + 0}')
                    say "$(printf '    %-4s -P %-3s %10s ops/s together (%s of one node alone)' "$T" "$P" "$sum" "$(ratio "$sum" "${OPS[single-$T-$P]:-0}")")"
                done
            done
        fi
    else
        say "# part 2: the cluster did not come up (see logs.txt)"
    fi
    stop "${CLUSTER[@]}" # the entry node writes its profile as it stops
    [ -f "$OUT/entry-cpu.collapsed" ] && gzip -f "$OUT/entry-cpu.collapsed" # what comes back is 16 MiB a file at most
fi

# ---- 3. A single node with the cluster nodes' I/O threads ---------------------------------------------------
if ! late "part 3"; then
    say ""
    say "## 3. One node with --io-threads $CLUSTER_IO: CPU per 1,000 SETs at -P 16, like for like with part 2"
    if node single4 127.0.0.1 7604 --io-threads "$CLUSTER_IO"; then
        T4=$STARTED_PID
        JIT_SETTLE=4 jit_settle "$T4" warm 127.0.0.1 7604
        n=$(requests_for 127.0.0.1 7604 16 set)
        : >"$W/cpu"; : >"$W/c"
        for _ in $(seq 1 "$ROUNDS"); do
            a=$(cpu_ticks "$T4")
            read -r o _ _ < <(bench 127.0.0.1 7604 16 set "$n"); echo "${o:-0}" >>"$W/c"
            b=$(cpu_ticks "$T4")
            per_thousand $((b - a)) "$n" >>"$W/cpu"
        done
        c4=$(median <"$W/cpu")
        say "# $(median <"$W/c") SETs/s; CPU per 1,000 SETs ${c4} ms; the three nodes of part 2 against it: $(ratio "${CLUSTER_CPU:-0}" "$c4")"
        stop "$T4"
    fi
fi
# ---- 4. TLS ----------------------------------------------------------------------------------------------------
if ! late "part 4"; then
    say ""
    say "## 4. TLS: one node (default --io-threads) and redis-server (single-threaded), plaintext and TLS ports"
    C=$W/certs
    TLS=(--tls --cacert "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")
    redis redis-tls 7611 --tls-port 7612 --tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key" \
        --tls-ca-cert-file "$C/ca.crt" && RT=$STARTED_PID
    node single-tls 127.0.0.1 7613 --tls-port 7614 --tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key" \
        --tls-ca-cert-file "$C/ca.crt" && TT=$STARTED_PID
    if [ -n "${RT:-}" ] && [ -n "${TT:-}" ]; then
        warm_tls() { warm 127.0.0.1 7613; bench 127.0.0.1 7614 16 set,get 400000 "$THREADS" "$CLIENTS" "${TLS[@]}" >/dev/null
            bench 127.0.0.1 7614 1 set,get 40000 "$THREADS" "$CLIENTS" "${TLS[@]}" >/dev/null; }
        JIT_SETTLE=4 jit_settle "$TT" warm_tls
        say "# the node warmed up in $SETTLED rounds; its TLS engine: $(grep -o 'over TLS on [^(]*(\([^;]*\)' "$W/single-tls.log" | sed 's/.*(//' | tr -d ')')"
        say "$(printf '%-4s %-3s | %10s %10s | %10s %10s | %9s %9s | %s' test P redis 'redis TLS' trellis 'trellis TLS' TLS/plain 'vs redis' 'TLS/plain of redis')"
        for P in 1 16; do
            for T in set get; do
                n=$(requests_for 127.0.0.1 7614 "$P" "$T" "${TLS[@]}")
                for f in rp rt tp tt; do : >"$W/$f"; done
                for _ in $(seq 1 "$ROUNDS"); do
                    bench 127.0.0.1 7611 "$P" "$T" "$n" | awk '{print $1 + 0}' >>"$W/rp"
                    bench 127.0.0.1 7612 "$P" "$T" "$n" "$THREADS" "$CLIENTS" "${TLS[@]}" | awk '{print $1 + 0}' >>"$W/rt"
                    bench 127.0.0.1 7613 "$P" "$T" "$n" | awk '{print $1 + 0}' >>"$W/tp"
                    bench 127.0.0.1 7614 "$P" "$T" "$n" "$THREADS" "$CLIENTS" "${TLS[@]}" | awk '{print $1 + 0}' >>"$W/tt"
                done
                rp=$(median <"$W/rp"); rt=$(median <"$W/rt"); tp=$(median <"$W/tp"); tt=$(median <"$W/tt")
                say "$(printf '%-4s %-3s | %10s %10s | %10s %10s | %9s %9s | %s' "$T" "$P" "$rp" "$rt" "$tp" "$tt" \
                    "$(ratio "$tt" "$tp")" "$(ratio "$tt" "$rt")" "$(ratio "$rt" "$rp")")"
            done
        done
    else
        say "# part 4 did not start (see logs.txt)"
    fi
    stop "${RT:-}" "${TT:-}"
fi

say ""
say "# done in ${SECONDS}s"
