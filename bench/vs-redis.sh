#!/usr/bin/env bash
# TrellisKV beside redis-server: the same redis-benchmark workloads against both, in one run, on
# loopback; then bytes per key for exactly 1,000,000 keys of 100 bytes. Both in memory only: redis-server
# runs with --save '' --appendonly no, so the node runs with --appendonly no (its --data-dir, under the
# script's temp dir, then holds only its identity). Persistence is measured by bench/persistence.sh.
#
#   bench/vs-redis.sh                 # defaults below
#   ROUNDS=5 REQUESTS=2000000 bench/vs-redis.sh
#
# Environment: ROUNDS (rounds per workload, median reported; default 3), REQUESTS (per run, default
# 1000000), CLIENTS (default 50), KEYSPACE (default 1000000), JIT_SETTLE (most warm-up rounds; default 10),
# JAVA_HOME (default: the newest JDK under /usr/lib/jvm), TRELLIS_JAVA_OPTS (JVM options for the node),
# SKIP_MEMORY=1 to skip part 2.
# Output: a table on stdout; raw CSVs and logs in bench/out/. Its "ratio" is the median of the node's
# throughput over the median of redis-server's; "pairs" is the median of each round's own ratio (the two
# servers run back to back in a round), which the machine's drift from round to round moves less.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-1000000}
OUT=bench/out
mkdir -p "$OUT"

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-server and redis-tools..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
export JAVA_HOME # bin/trellis runs on it
bench_tmp

wait_ping() {
    for _ in $(seq 1 300); do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = "PONG" ] && return 0
        sleep 0.1
    done
    echo "server on port $1 did not answer PING" >&2; return 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }

REDIS_PORT=$(free_port)
TRELLIS_PORT=$(free_port)

start_servers() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --logfile "$OUT/redis.log" &
    REDIS_PID=$!; PIDS+=("$REDIS_PID")
    rm -rf "$TMP/data" # a fresh node each time
    bin/trellis "$TRELLIS_PORT" --data-dir "$TMP/data" --appendonly no >>"$OUT/trellis.log" 2>&1 &
    TRELLIS_PID=$!; PIDS+=("$TRELLIS_PID") # bin/trellis execs java, so this is the JVM
    wait_ping "$REDIS_PORT"; wait_ping "$TRELLIS_PORT"
}
stop_servers() {
    kill "$REDIS_PID" "$TRELLIS_PID"; wait "$REDIS_PID" "$TRELLIS_PID" 2>/dev/null || true
}
: >"$OUT/trellis.log"
start_servers

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr)"
echo "# redis: $(redis-server --version | cut -d' ' -f3-4); trellis on $("$JAVA" -version 2>&1 | head -n 1)"
echo "# in memory only: redis-server --save '' --appendonly no; trellis --appendonly no"
echo "# redis-benchmark -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE, median of $ROUNDS rounds"

bench() { # port pipeline test -> "rps p50 p99"
    redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$2" -t "$3" --csv 2>/dev/null \
        | tail -n 1 | tr -d '"' | awk -F, '{print $2, $5, $7}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

warm_round() { # port: SETs and GETs at -P 16 and -P 1
    redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n 500000 -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
    redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n 100000 -d 100 -r "$KEYSPACE" -t set,get -q >/dev/null
}
# The node is warmed until its JIT settled (see jit_settle in bench/lib.sh), so that no measured round pays for
# compiling; redis-server gets one round of the same load, so that both start with their key spaces filled.
jit_settle "$TRELLIS_PID" warm_round "$TRELLIS_PORT"
warm_round "$REDIS_PORT"
echo "# warm-up: $SETTLED rounds until the node's JIT compilers took under 2 % of its CPU in one"

printf '\n%-10s %-3s | %12s %8s %8s | %12s %8s %8s | %7s %7s\n' workload P "redis ops/s" "p50 ms" "p99 ms" "trellis ops/s" "p50 ms" "p99 ms" "ratio" "pairs"
for P in 1 16; do
    for T in set get; do
        : >"$OUT/$T-P$P.redis"; : >"$OUT/$T-P$P.trellis"
        for _ in $(seq 1 "$ROUNDS"); do   # alternate, so drift on the machine hits both alike
            bench "$REDIS_PORT" "$P" "$T" >>"$OUT/$T-P$P.redis"
            bench "$TRELLIS_PORT" "$P" "$T" >>"$OUT/$T-P$P.trellis"
        done
        r_rps=$(cut -d' ' -f1 "$OUT/$T-P$P.redis" | median); r_p50=$(cut -d' ' -f2 "$OUT/$T-P$P.redis" | median); r_p99=$(cut -d' ' -f3 "$OUT/$T-P$P.redis" | median)
        t_rps=$(cut -d' ' -f1 "$OUT/$T-P$P.trellis" | median); t_p50=$(cut -d' ' -f2 "$OUT/$T-P$P.trellis" | median); t_p99=$(cut -d' ' -f3 "$OUT/$T-P$P.trellis" | median)
        pairs=$(paste -d' ' "$OUT/$T-P$P.trellis" "$OUT/$T-P$P.redis" | awk '{ print $1 / $4 }' | median)
        printf '%-10s %-3s | %12.0f %8s %8s | %12.0f %8s %8s | %6.2fx %6.2fx\n' "$T" "$P" "$r_rps" "$r_p50" "$r_p99" "$t_rps" "$t_p50" "$t_p99" \
            "$(awk -v a="$t_rps" -v b="$r_rps" 'BEGIN { print a / b }')" "$pairs"
    done
done

[ "${SKIP_MEMORY:-0}" = 1 ] && exit 0

# Part 2: bytes per key. Exactly 1,000,000 distinct keys (key:0 .. key:999999), 100-byte values,
# loaded through redis-cli --pipe into a freshly started server of each kind.
LOAD="$OUT/load-1m.resp"
if [ ! -s "$LOAD" ]; then
    awk 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < 1000000; i++) { k = "key:" i;
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", length(k), k, v } }' >"$LOAD"
fi
# Fresh servers, so RSS growth is that of the load alone.
stop_servers
start_servers
"$JAVA_HOME/bin/jcmd" "$TRELLIS_PID" GC.run >/dev/null
r_used0=$(info_field "$REDIS_PORT" memory used_memory); r_rss0=$(rss_kb "$REDIS_PID")
t_heap0=$(info_field "$TRELLIS_PORT" memory used_memory_heap); t_rss0=$(rss_kb "$TRELLIS_PID")
redis-cli -p "$REDIS_PORT" --pipe <"$LOAD" >/dev/null
redis-cli -p "$TRELLIS_PORT" --pipe <"$LOAD" >/dev/null
"$JAVA_HOME/bin/jcmd" "$TRELLIS_PID" GC.run >/dev/null
r_keys=$(redis-cli -p "$REDIS_PORT" dbsize); t_keys=$(redis-cli -p "$TRELLIS_PORT" dbsize)
r_used1=$(info_field "$REDIS_PORT" memory used_memory); r_rss1=$(rss_kb "$REDIS_PID")
t_heap1=$(info_field "$TRELLIS_PORT" memory used_memory_heap); t_rss1=$(rss_kb "$TRELLIS_PID")
t_acct=$(info_field "$TRELLIS_PORT" memory used_memory)
echo
echo "# 1,000,000 keys x 100-byte values (keys: redis $r_keys, trellis $t_keys)"
awk -v ru="$((r_used1 - r_used0))" -v rr="$(((r_rss1 - r_rss0) * 1024))" -v th="$((t_heap1 - t_heap0))" \
    -v tr="$(((t_rss1 - t_rss0) * 1024))" -v ta="$t_acct" 'BEGIN {
    printf "%-34s %10.1f bytes/key\n", "redis used_memory growth", ru / 1e6
    printf "%-34s %10.1f bytes/key\n", "redis RSS growth", rr / 1e6
    printf "%-34s %10.1f bytes/key (%.2fx redis used_memory)\n", "trellis heap in use after GC", th / 1e6, th / ru
    printf "%-34s %10.1f bytes/key\n", "trellis RSS growth", tr / 1e6
    printf "%-34s %10.1f bytes/key\n", "trellis accounted (INFO used_memory)", ta / 1e6 }'
