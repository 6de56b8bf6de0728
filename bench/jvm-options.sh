#!/usr/bin/env bash
# JVM option sets side by side (collectors, heap sizes): one node per set, all running at once, the
# same redis-benchmark workloads as bench/vs-redis.sh (SET, GET at -P 1 and -P 16) sent to each in
# turn, round after round, so drift on a shared machine hits every set alike; medians reported, with
# the spread. Then, per set, a fresh node loaded with exactly 1,000,000 keys of 100 bytes: heap in use
# after a full GC against the engine's accounting (INFO used_memory), and RSS.
#
#   bench/jvm-options.sh                                     # ZGC, G1, Parallel
#   ROUNDS=5 bench/jvm-options.sh "-XX:+UseZGC" "-XX:+UseZGC -Xmx1g"
#
# Environment: ROUNDS (default 5), REQUESTS (per run, default 300000), CLIENTS (default 50), KEYSPACE
# (default 1000000), JAVA_HOME (default: the JDK bin/trellis picks), SKIP_MEMORY=1 to skip part 2.
# Nodes run with --appendonly no. Output: tables on stdout; raw results in bench/out/jvm-options/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-1000000}
OUT=bench/out/jvm-options
mkdir -p "$OUT"
rm -f "$OUT"/*.res
[ $# -gt 0 ] || set -- "-XX:+UseZGC" "-XX:+UseG1GC" "-XX:+UseParallelGC"
SETS=("$@")
export JAVA_HOME
bench_tmp

wait_ping() {
    for _ in $(seq 1 300); do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = "PONG" ] && return 0
        sleep 0.1
    done
    echo "node on port $1 did not answer PING" >&2; return 1
}
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -n | awk 'NR == 1 {lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }

start_node() { # index -> sets PORT_i, PID_i
    local port; port=$(free_port)
    rm -rf "$TMP/data$1"
    TRELLIS_JAVA_OPTS="${SETS[$1]}" bin/trellis "$port" --data-dir "$TMP/data$1" --appendonly no \
        >>"$OUT/node$1.log" 2>&1 &
    PIDS+=("$!"); NODE_PID[$1]=$!; NODE_PORT[$1]=$port
    wait_ping "$port"
}
stop_node() { kill "${NODE_PID[$1]}"; wait "${NODE_PID[$1]}" 2>/dev/null || true; }

bench_header "ROUNDS=$ROUNDS REQUESTS=$REQUESTS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a NODE_PID NODE_PORT
for i in "${!SETS[@]}"; do
    : >"$OUT/node$i.log"
    start_node "$i"
    # Warm the compiler up, as bench/vs-redis.sh does.
    redis-benchmark -p "${NODE_PORT[$i]}" -c "$CLIENTS" -n 300000 -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
    redis-benchmark -p "${NODE_PORT[$i]}" -c "$CLIENTS" -n 100000 -d 100 -r "$KEYSPACE" -t set,get -q >/dev/null
    echo "# set $i: ${SETS[$i]:-<launcher defaults>}: $(grep -m1 'JVM:' "$OUT/node$i.log" | sed 's/.*JVM: /JVM: /' || true)"
done

bench() { # port pipeline test -> "rps p50 p99"
    redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$2" -t "$3" --csv 2>/dev/null \
        | tail -n 1 | tr -d '"' | awk -F, '{print $2, $5, $7}'
}
for _ in $(seq 1 "$ROUNDS"); do
    for P in 1 16; do
        for T in set get; do
            for i in "${!SETS[@]}"; do bench "${NODE_PORT[$i]}" "$P" "$T" >>"$OUT/$T-P$P-$i.res"; done
        done
    done
done
printf '\n%-4s %-3s %-3s | %10s %-17s | %7s | %7s %-13s\n' test P set "ops/s" "(spread)" "p50 ms" "p99 ms" "(spread)"
for P in 1 16; do
    for T in set get; do
        for i in "${!SETS[@]}"; do
            f="$OUT/$T-P$P-$i.res"
            printf '%-4s %-3s %-3s | %10.0f %-17s | %7s | %7s %-13s\n' "$T" "$P" "$i" "$(cut -d' ' -f1 "$f" | median)" \
                "($(cut -d' ' -f1 "$f" | spread))" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" \
                "($(cut -d' ' -f3 "$f" | spread))"
        done
    done
done
for i in "${!SETS[@]}"; do stop_node "$i"; done

[ "${SKIP_MEMORY:-0}" = 1 ] && exit 0

LOAD="bench/out/load-1m.resp"
if [ ! -s "$LOAD" ]; then
    awk 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < 1000000; i++) { k = "key:" i;
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", length(k), k, v } }' >"$LOAD"
fi
echo
echo "# 1,000,000 keys x 100-byte values, fresh node per set; heap after jcmd GC.run"
printf '%-3s | %14s %14s %8s | %14s %10s\n' set "used_memory B/k" "heap B/k" "heap/used" "RSS growth B/k" "RSS MiB"
for i in "${!SETS[@]}"; do
    : >>"$OUT/node$i.log"
    start_node "$i"
    pid=${NODE_PID[$i]}; port=${NODE_PORT[$i]}
    "$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null
    h0=$(info_field "$port" memory used_memory_heap); r0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    redis-cli -p "$port" --pipe <"$LOAD" >/dev/null
    "$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null
    h1=$(info_field "$port" memory used_memory_heap); r1=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    u=$(info_field "$port" memory used_memory)
    awk -v i="$i" -v u="$u" -v h="$((h1 - h0))" -v r="$(((r1 - r0) * 1024))" -v rss="$r1" 'BEGIN {
        printf "%-3s | %14.1f %14.1f %8.2f | %14.1f %10.0f\n", i, u / 1e6, h / 1e6, h / u, r / 1e6, rss / 1024 }'
    stop_node "$i"
done
