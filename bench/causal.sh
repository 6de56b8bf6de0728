#!/usr/bin/env bash
# What versioned keys and counters cost, on loopback addresses of one machine:
#   1. redis-benchmark, one command at a time over random keys: SET (a plain write), VSET with an empty
#      context (a versioned write: the coordinator joins it into the key's siblings), INCR (a convergent
#      counter); on a single node and through one node of a 3-node cluster with 3 replicas at QUORUM, and
#      SET and INCR on redis-server, all in one run, rounds alternating; medians.
#   2. the causal history of one versioned key written by 3, 5 and 10 writers spread over the cluster's
#      nodes (io.trelliskv.bench.CausalHistory): siblings and context bytes, chained and concurrent.
#
#   bench/causal.sh
#   ROUNDS=5 PIPELINES="1" bench/causal.sh
#
# Environment: ROUNDS (default 3), REQUESTS (per run, default 200000), CLIENTS (default 50), KEYSPACE
# (default 1000000: few keys are written twice, so versioned keys rarely gather siblings), PIPELINES
# (default "1 16"), JAVA_HOME, TRELLIS_JAVA_OPTS (default -XX:+UseZGC -XX:-ZProactive, as bin/trellis). Nodes run with --appendonly no.
# Output: tables on stdout; logs and raw figures in bench/out/causal/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-1000000}
PIPELINES=${PIPELINES:-1 16}
OUT=bench/out/causal
mkdir -p "$OUT"
rm -f "$OUT"/*.res

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-server and redis-tools..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
export JAVA_HOME
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
bench_jar

SINGLE_IP=127.0.0.61
CLUSTER_IPS=(127.0.0.62 127.0.0.63 127.0.0.64)
REDIS_IP=127.0.0.65
PORT=$(free_port "$SINGLE_IP" "${CLUSTER_IPS[@]}" "$REDIS_IP")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

start_node() { # ip [seed ip] [node options...] -> STARTED_PID
    local ip=$1 seed=${2:-}
    shift; [ $# -gt 0 ] && shift
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main \
        "$PORT" ${seed:+"$seed:$PORT"} --host "$ip" --data-dir "$TMP/data-$ip" --appendonly no --protected-mode no "$@" \
        >>"$OUT/node-$ip.log" 2>&1 &
    STARTED_PID=$!; PIDS+=("$STARTED_PID")
}
wait_ping() {
    for _ in $(seq 1 300); do
        [ "$(redis-cli -h "$1" -p "$PORT" ping 2>/dev/null)" = "PONG" ] && return 0
        sleep 0.1
    done
    echo "node $1:$PORT did not answer PING" >&2; return 1
}
info_field() { redis-cli -h "$1" -p "$PORT" info "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^$3://p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bench_header "port $PORT; nodes: --appendonly no"
for ip in "$SINGLE_IP" "${CLUSTER_IPS[@]}"; do : >"$OUT/node-$ip.log"; done

redis-server --port "$PORT" --bind "$REDIS_IP" --save '' --appendonly no --daemonize no \
    --logfile "$(pwd)/$OUT/redis.log" &
PIDS+=("$!")
start_node "$SINGLE_IP"
start_node "${CLUSTER_IPS[0]}" "" --replication-factor 3 --read-consistency QUORUM --write-consistency QUORUM
wait_ping "${CLUSTER_IPS[0]}"
for i in 1 2; do
    start_node "${CLUSTER_IPS[$i]}" "${CLUSTER_IPS[0]}" --replication-factor 3 --read-consistency QUORUM \
        --write-consistency QUORUM
    wait_ping "${CLUSTER_IPS[$i]}"
done
for _ in $(seq 1 600); do
    ok=1
    for ip in "${CLUSTER_IPS[@]}"; do
        [ "$(info_field "$ip" cluster ring_nodes)" = 3 ] && [ "$(info_field "$ip" cluster members_alive)" = 3 ] || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
done
[ "$ok" = 1 ] || { echo "3-node cluster did not settle within 60 s" >&2; exit 1; }
wait_ping "$SINGLE_IP"
wait_ping "$REDIS_IP"

VALUE=$(printf 'v%.0s' $(seq 1 100))
run() { # ip pipeline workload -> "rps p50 p99"
    local cmd
    case "$3" in
        set) cmd=(SET "key:__rand_int__" "$VALUE") ;;
        vset) cmd=(VSET "vkey:__rand_int__" "" "$VALUE") ;;
        incr) cmd=(INCR "counter:__rand_int__") ;;
    esac
    redis-benchmark -h "$1" -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" -P "$2" --csv "${cmd[@]}" 2>/dev/null \
        | tail -n 1 | tr -d '"' | awk -F, '{print $2, $5, $7}'
}
ENTRY=${CLUSTER_IPS[0]}
# Warm every JIT the runs go through.
for ip in "$SINGLE_IP" "$ENTRY"; do
    for w in set vset incr; do run "$ip" 16 "$w" >/dev/null; done
done

TARGETS=("single:$SINGLE_IP" "cluster:$ENTRY" "redis:$REDIS_IP")
for _ in $(seq 1 "$ROUNDS"); do
    for P in $PIPELINES; do
        for w in set vset incr; do
            for t in "${TARGETS[@]}"; do
                name=${t%%:*} ip=${t#*:}
                [ "$name" = redis ] && [ "$w" = vset ] && continue
                run "$ip" "$P" "$w" >>"$OUT/$name-$w-P$P.res"
            done
        done
    done
done

echo
echo "## redis-benchmark -c $CLIENTS -n $REQUESTS -r $KEYSPACE, 100-byte values; median of $ROUNDS rounds (alternating)"
echo "## cluster: through one node of 3, --replication-factor 3, QUORUM reads and writes"
printf '%-8s %-5s %-3s | %10s %7s %7s | %-13s\n' target cmd P "ops/s" "p50 ms" "p99 ms" "vs SET there"
for name in single cluster redis; do
    for P in $PIPELINES; do
        base=$(cut -d' ' -f1 "$OUT/$name-set-P$P.res" | median)
        for w in set vset incr; do
            f="$OUT/$name-$w-P$P.res"
            [ -s "$f" ] || continue
            rps=$(cut -d' ' -f1 "$f" | median)
            printf '%-8s %-5s %-3s | %10.0f %7s %7s | %.2fx\n' "$name" "$w" "$P" "$rps" "$(cut -d' ' -f2 "$f" | median)" \
                "$(cut -d' ' -f3 "$f" | median)" "$(awk -v a="$rps" -v b="$base" 'BEGIN {print a / b}')"
        done
    done
done
echo "# INFO versioned_sibling_limit_refused on the entry node: $(info_field "$ENTRY" stats versioned_sibling_limit_refused)"

echo
echo "## causal history of one versioned key, writers spread over the 3 cluster nodes"
test_classpath "$OUT" 2>"$OUT/build.log" || { cat "$OUT/build.log" >&2; exit 1; }
"$JAVA" -cp "$CP" -Dtrellis.log.level=warn io.trelliskv.bench.CausalHistory \
    "$(IFS=,; for ip in "${CLUSTER_IPS[@]}"; do printf '%s:%s,' "$ip" "$PORT"; done | sed 's/,$//')" 3 5 10
