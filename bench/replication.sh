#!/usr/bin/env bash
# TrellisKV replication figures, on loopback addresses of one machine:
#   1. redis-benchmark SET and GET through one node of a 3-node cluster with 3 replicas of every key,
#      at each consistency level (ONE, QUORUM, ALL: the nodes' defaults, set with --read-consistency and
#      --write-consistency, the cluster restarted per level, since redis-benchmark cannot send
#      CONSISTENCY first), beside a single node in the same run, rounds alternating between the two;
#   2. hint replay: SIGKILL one node of a 3-node cluster, write HINT_KEYS keys at QUORUM through the
#      survivors, restart the node on the same --data-dir (same id and tokens), time until the
#      survivors have no hints left; once per replay rate in HINT_RATES.
# Every node has its --data-dir under the script's temp dir and runs in memory only (--appendonly no, as
# these figures were first measured; PERSIST changes it): the restarted node keeps its id and tokens but
# no data, so what it holds afterwards is what the hints gave it.
#
#   bench/replication.sh
#   ROUNDS=5 LEVELS="ONE QUORUM" bench/replication.sh
#
# Environment: ROUNDS (redis-benchmark rounds per workload, median reported; default 3), REQUESTS
# (default 200000), CLIENTS (default 50), KEYSPACE (default 100000), VALUE_SIZE (bytes of each value, redis-benchmark's
# -d; default 100), PIPELINES (default "1 16"), LEVELS
# (default "ONE QUORUM ALL"), HINT_KEYS (default 200000), HINT_RATES (--hint-replay-rate values, default
# "5000 1000000": the default rate, then one that does not limit), JAVA_HOME (default: the newest JDK
# under /usr/lib/jvm), TRELLIS_JAVA_OPTS (JVM options for every node; default -XX:+UseZGC -XX:-ZProactive, as bin/trellis), PERSIST
# (persistence options for every node; default --appendonly no, e.g. PERSIST="--appendfsync everysec"),
# SKIP_THROUGHPUT=1, SKIP_HINTS=1 to skip a part; JAR (the node jar to run; default target/trelliskv.jar, to
# compare two builds in one sitting); CPU_REQUESTS (SETs per round of the CPU-cost figure, default 1000000; 0 skips
# it: a round must span several of the collector's cycles, or the rounds with a cycle and those without differ more
# than the figure: the single node read 1.50 and 2.90 ms per 1,000 SETs in turns in rounds of 300,000);
# CPU_ROUNDS (rounds of it, default 5); CPU_PIPELINES (the -P of its SETs, one figure each; default 16); CPU_WARMUP (SETs sent to each before the first round and not measured, so
# that the figure is of the compiled write path rather than of the JIT compiling it; default 5 x CPU_REQUESTS);
# CPU_SETTLE (then, per pipeline depth, at most this many unmeasured rounds of CPU_REQUESTS SETs, until one in which
# the JIT compiler threads took under 2 % of the CPU; default 10; the throughput rounds are warmed up the same way,
# in rounds of 200,000 SETs and GETs at -P 16 and 100,000 at -P 1).
# CPU cost: after the throughput rounds of each level, CPU_REQUESTS SETs at -P 16 (or each of CPU_PIPELINES) through the entry node and
# then through the single node, CPU_ROUNDS times in turn, with utime+stime of every node's process read from
# /proc/PID/stat before and after each: CPU ms of all three nodes per 1,000 writes at the level, beside the
# single node's, medians of the rounds (each round's figures are printed too), and "pairs": the median of each
# round's own ratio, which the machine's drift between rounds moves less; "means": the CPU of all the rounds over all
# their SETs, which counts each node's collections however they fell (a node that allocates less collects in fewer
# rounds, and a median can leave its collections out); then the three nodes' figure split into the entry node's
# (which coordinates) and the two replicas' together.
# Output: tables on stdout; logs and raw figures in bench/out/replication/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
VALUE_SIZE=${VALUE_SIZE:-100}
PIPELINES=${PIPELINES:-1 16}
LEVELS=${LEVELS:-ONE QUORUM ALL}
HINT_KEYS=${HINT_KEYS:-200000}
HINT_RATES=${HINT_RATES:-5000 1000000}
CPU_REQUESTS=${CPU_REQUESTS:-1000000}
CPU_ROUNDS=${CPU_ROUNDS:-5}
CPU_PIPELINES=${CPU_PIPELINES:-16}
CPU_WARMUP=${CPU_WARMUP:-$((5 * CPU_REQUESTS))}
CPU_SETTLE=${CPU_SETTLE:-10}
[ "$CPU_REQUESTS" -gt 0 ] || CPU_WARMUP=0
OUT=bench/out/replication
mkdir -p "$OUT"

if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-tools..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null
fi
export JAVA_HOME
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
PERSIST=${PERSIST:---appendonly no}

bench_jar # a private copy of the jar (bench/lib.sh)

SINGLE_IP=127.0.0.51
CLUSTER_IPS=(127.0.0.52 127.0.0.53 127.0.0.54)

# One port free for TCP and UDP on every address used (a node takes both on its port).
PORT=$(free_port "$SINGLE_IP" "${CLUSTER_IPS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
start_node() { # ip [seed ip] [node options...] -> sets STARTED_PID; --data-dir $TMP/data-<ip>
    local ip=$1 seed=${2:-}
    shift; [ $# -gt 0 ] && shift
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main \
        "$PORT" ${seed:+"$seed:$PORT"} --host "$ip" --data-dir "$TMP/data-$ip" $PERSIST "$@" >>"$OUT/node-$ip.log" 2>&1 &
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
wait_ring() { # every node sees 3 ALIVE, none SUSPECT, and 3 nodes on its ring; bounded at 60 s
    for _ in $(seq 1 600); do
        local ok=1
        for ip in "${CLUSTER_IPS[@]}"; do
            [ "$(info_field "$ip" cluster members_alive)" = 3 ] && [ "$(info_field "$ip" cluster members_suspect)" = 0 ] \
                && [ "$(info_field "$ip" cluster ring_nodes)" = 3 ] || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    echo "3-node cluster did not settle within 60 s" >&2; return 1
}
node_id() { redis-cli -h "$1" -p "$PORT" members | awk '/this node/ {print $1}'; }
member_state() { redis-cli -h "$1" -p "$PORT" members 2>/dev/null | awk -v id="$2" '$1 == id {print $3}'; }
cpu_per_1000_sets() { # pipeline ip pid... -> CPU ms per 1,000 SETs of CPU_REQUESTS at -P pipeline: of all those processes,
    # of the first, and of their JIT compiler threads
    local pipeline=$1 ip=$2; shift 2
    local t0 t1 f0 f1 j0 j1
    t0=$(cpu_ticks "$@"); f0=$(cpu_ticks "$1"); j0=$(jit_ticks "$@")
    redis-benchmark -h "$ip" -p "$PORT" -c "$CLIENTS" -n "$CPU_REQUESTS" -d "$VALUE_SIZE" -r "$KEYSPACE" -P "$pipeline" -t set -q >/dev/null
    t1=$(cpu_ticks "$@"); f1=$(cpu_ticks "$1"); j1=$(jit_ticks "$@")
    awk -v d=$((t1 - t0)) -v f=$((f1 - f0)) -v j=$((j1 > j0 ? j1 - j0 : 0)) -v hz="$(getconf CLK_TCK)" -v n="$CPU_REQUESTS" \
        'BEGIN { printf "%.2f %.2f %.2f\n", d * 1000 / hz / (n / 1000), f * 1000 / hz / (n / 1000), j * 1000 / hz / (n / 1000) }'
}
settle() { # pipeline ip pid... -> how many rounds of CPU_REQUESTS SETs at -P pipeline it took until the JIT compilers
    # spent under 2 % of a round's CPU (at most CPU_SETTLE; "N+" if they never did), so that the rounds measured are
    # of compiled code: the JIT still recompiles parts of the path millions of SETs in (a path first taken late)
    local pipeline=$1 ip=$2 i c _e j; shift 2
    for i in $(seq 1 "$CPU_SETTLE"); do
        read -r c _e j < <(cpu_per_1000_sets "$pipeline" "$ip" "$@")
        awk -v c="$c" -v j="$j" 'BEGIN { exit !(j * 50 <= c) }' && { echo "$i"; return; }
    done
    echo "$CPU_SETTLE+"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mean() { awk '{s += $1} END {printf "%.2f", s / NR}'; }

CLUSTER_PID=()
start_cluster() { # node options... ; nodes join one at a time through the first
    start_node "${CLUSTER_IPS[0]}" "" "$@"; CLUSTER_PID[0]=$STARTED_PID
    wait_ping "${CLUSTER_IPS[0]}"
    for i in 1 2; do
        start_node "${CLUSTER_IPS[$i]}" "${CLUSTER_IPS[0]}" "$@"; CLUSTER_PID[$i]=$STARTED_PID
        wait_ping "${CLUSTER_IPS[$i]}"
        for _ in $(seq 1 300); do
            [ "$(info_field "${CLUSTER_IPS[0]}" cluster ring_nodes)" = $((i + 1)) ] && break; sleep 0.1
        done
    done
    wait_ring
}
stop_cluster() {
    for p in "${CLUSTER_PID[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${CLUSTER_PID[@]}"; do wait "$p" 2>/dev/null || true; done
    for ip in "${CLUSTER_IPS[@]}"; do rm -rf "$TMP/data-$ip"; done # the next cluster is a new one
}

for ip in "$SINGLE_IP" "${CLUSTER_IPS[@]}"; do : >"$OUT/node-$ip.log"; done

bench_header "port $PORT; nodes: $PERSIST$JAR_NOTE"

# --- part 1: throughput per consistency level, beside a single node ------------------------------------
if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
    start_node "$SINGLE_IP"; SINGLE_PID=$STARTED_PID
    wait_ping "$SINGLE_IP"
    ENTRY=${CLUSTER_IPS[0]}
    bench() { # ip pipeline -> "SET rps p50 p99" and "GET rps p50 p99"
        redis-benchmark -h "$1" -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -d "$VALUE_SIZE" -r "$KEYSPACE" -P "$2" -t set,get --csv 2>/dev/null \
            | tr -d '"' | awk -F, '$1 == "SET" || $1 == "GET" {print $1, $2, $5, $7}'
    }
    warm_round() { # ip: one round of warm-up load, SETs and GETs at -P 16 and -P 1
        redis-benchmark -h "$1" -p "$PORT" -c "$CLIENTS" -n 200000 -d "$VALUE_SIZE" -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
        redis-benchmark -h "$1" -p "$PORT" -c "$CLIENTS" -n 100000 -d "$VALUE_SIZE" -r "$KEYSPACE" -t set,get -q >/dev/null
    }
    warm() { # ip pid... -> WARMED: warm the JIT of every node the load goes through, in rounds of warm_round until
        # one in which the JIT compilers took under 2 % of the CPU (at most CPU_SETTLE rounds; see jit_settle)
        local ip=$1; shift
        JIT_SETTLE=$CPU_SETTLE jit_settle "$*" warm_round "$ip"
        WARMED=$SETTLED
    }
    warm "$SINGLE_IP" "$SINGLE_PID"; single_warmed=$WARMED
    echo
    echo "## throughput: redis-benchmark -t set,get -c $CLIENTS -n $REQUESTS -d $VALUE_SIZE -r $KEYSPACE, median of $ROUNDS rounds (alternating)"
    echo "## (a) single node; (b) through one node of a 3-node cluster, --replication-factor 3, both levels set to LEVEL"
    printf '%-7s %-5s %-3s | %12s %8s %8s | %13s %8s %8s | %7s\n' level test P "single ops/s" "p50 ms" "p99 ms" "cluster ops/s" "p50 ms" "p99 ms" "ratio"
    for L in $LEVELS; do
        start_cluster --replication-factor 3 --read-consistency "$L" --write-consistency "$L"
        own=$(redis-cli -h "$ENTRY" -p "$PORT" members | awk '/this node/ {print $5}')
        warm "$ENTRY" "${CLUSTER_PID[@]}"
        echo "# $L: warm-up rounds until the JIT settled (see warm): single node $single_warmed, cluster $WARMED"
        fwd0=$(info_field "$ENTRY" cluster forwarded_requests)
        for P in $PIPELINES; do
            : >"$OUT/$L-P$P.single"; : >"$OUT/$L-P$P.cluster"
            for _ in $(seq 1 "$ROUNDS"); do
                bench "$SINGLE_IP" "$P" >>"$OUT/$L-P$P.single"
                bench "$ENTRY" "$P" >>"$OUT/$L-P$P.cluster"
            done
            for T in SET GET; do
                col() { awk -v t="$T" -v c="$2" '$1 == t {print $c}' "$1" | median; }
                s_rps=$(col "$OUT/$L-P$P.single" 2); s_p50=$(col "$OUT/$L-P$P.single" 3); s_p99=$(col "$OUT/$L-P$P.single" 4)
                c_rps=$(col "$OUT/$L-P$P.cluster" 2); c_p50=$(col "$OUT/$L-P$P.cluster" 3); c_p99=$(col "$OUT/$L-P$P.cluster" 4)
                printf '%-7s %-5s %-3s | %12.0f %8s %8s | %13.0f %8s %8s | %6.2fx\n' "$L" "$T" "$P" "$s_rps" "$s_p50" "$s_p99" \
                    "$c_rps" "$c_p50" "$c_p99" "$(awk -v a="$c_rps" -v b="$s_rps" 'BEGIN { print a / b }')"
            done
        done
        settled_sets=0 # SETs through the entry node while the JIT settled
        if [ "$CPU_REQUESTS" -gt 0 ]; then
            for ip in "$ENTRY" "$SINGLE_IP"; do # the JIT compiles the write path before the figure, not during it
                [ "$CPU_WARMUP" -gt 0 ] && redis-benchmark -h "$ip" -p "$PORT" -c "$CLIENTS" -n "$CPU_WARMUP" -d "$VALUE_SIZE" \
                    -r "$KEYSPACE" -P 16 -t set -q >/dev/null
            done
            for CP in $CPU_PIPELINES; do
                c_settled=$(settle "$CP" "$ENTRY" "${CLUSTER_PID[@]}"); s_settled=$(settle "$CP" "$SINGLE_IP" "$SINGLE_PID")
                settled_sets=$((settled_sets + ${c_settled%+} * CPU_REQUESTS))
                c_all=(); e_all=(); r_all=(); s_all=(); cj_all=(); sj_all=()
                for _ in $(seq 1 "$CPU_ROUNDS"); do # alternating, as the throughput rounds
                    read -r c e j < <(cpu_per_1000_sets "$CP" "$ENTRY" "${CLUSTER_PID[@]}") # the entry node's PID first
                    c_all+=("$c"); e_all+=("$e"); cj_all+=("$j"); r_all+=("$(awk -v c="$c" -v e="$e" 'BEGIN { printf "%.2f", c - e }')")
                    read -r s _ j < <(cpu_per_1000_sets "$CP" "$SINGLE_IP" "$SINGLE_PID")
                    s_all+=("$s"); sj_all+=("$j")
                done
                c_cpu=$(printf '%s\n' "${c_all[@]}" | median); s_cpu=$(printf '%s\n' "${s_all[@]}" | median)
                pairs=$(for i in "${!c_all[@]}"; do awk -v a="${c_all[$i]}" -v b="${s_all[$i]}" 'BEGIN { printf "%.4f\n", a / b }'; done | median)
                c_mean=$(printf '%s\n' "${c_all[@]}" | mean); s_mean=$(printf '%s\n' "${s_all[@]}" | mean)
                echo "# $L: CPU ms per 1,000 SETs (-P $CP, $CPU_REQUESTS SETs after $CPU_WARMUP unmeasured and until the JIT settled:" \
                    "$c_settled rounds for the cluster, $s_settled for the single node; median of $CPU_ROUNDS rounds):" \
                    "single node $s_cpu (${s_all[*]}); three nodes together $c_cpu (${c_all[*]});" \
                    "$(awk -v a="$c_cpu" -v b="$s_cpu" 'BEGIN { printf "%.2f", a / b }')x; pairs $(printf '%.2f' "$pairs")x;" \
                    "means $c_mean and $s_mean, $(awk -v a="$c_mean" -v b="$s_mean" 'BEGIN { printf "%.2f", a / b }')x;" \
                    "of the three, the entry node $(printf '%s\n' "${e_all[@]}" | median) (${e_all[*]})" \
                    "and the two replicas together $(printf '%s\n' "${r_all[@]}" | median) (${r_all[*]});" \
                    "of it the JIT compilers' (single node; three nodes): ${sj_all[*]}; ${cj_all[*]}"
            done
        fi
        fwd1=$(info_field "$ENTRY" cluster forwarded_requests)
        total=$((ROUNDS * 2 * $(echo "$PIPELINES" | wc -w) * REQUESTS + CPU_ROUNDS * $(echo "$CPU_PIPELINES" | wc -w) * CPU_REQUESTS + CPU_WARMUP + settled_sets))
        echo "# $L: entry node owns $own of the ring; forwarded $((fwd1 - fwd0)) of $total requests;" \
            "$(info_field "$ENTRY" replication read_repairs) read repairs, $(info_field "$ENTRY" replication hints_stored) hints," \
            "$(info_field "$ENTRY" replication timeout_errors) TIMEOUT errors on the entry node"
        stop_cluster
    done
    kill "$SINGLE_PID"; wait "$SINGLE_PID" 2>/dev/null || true
fi

[ "${SKIP_HINTS:-0}" = 1 ] && exit 0

# --- part 2: hint replay -----------------------------------------------------------------------------
LOAD="$OUT/hints-$HINT_KEYS.resp"
if [ ! -s "$LOAD" ]; then
    awk -v n="$HINT_KEYS" 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < n; i++) { k = "hint:" i;
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", length(k), k, v } }' >"$LOAD"
fi
echo
echo "## hint replay: SIGKILL 1 of 3 nodes (N=3), $HINT_KEYS SETs at QUORUM through a survivor (redis-cli --pipe),"
echo "## restart on the same --data-dir; time until hints_pending is 0 on both survivors"
printf '%-12s | %8s %8s | %9s %9s | %10s %10s %15s | %12s\n' "replay rate" hints dropped "write s" "alive s" "replay s" \
    "keys/s" "after ALIVE/s" "keys on node"
VICTIM=${CLUSTER_IPS[2]}
for R in $HINT_RATES; do
    start_cluster --replication-factor 3 --hint-replay-rate "$R" --max-hints $((HINT_KEYS * 2)) --max-hint-bytes 1gb
    vid=$(node_id "$VICTIM")
    kill -KILL "${CLUSTER_PID[2]}"; { wait "${CLUSTER_PID[2]}"; } 2>/dev/null || true
    for _ in $(seq 1 600); do # DEAD on both survivors: until then they still forward its keys to it
        [ "$(member_state "${CLUSTER_IPS[0]}" "$vid")" = DEAD ] && [ "$(member_state "${CLUSTER_IPS[1]}" "$vid")" = DEAD ] && break
        sleep 0.1
    done
    t0=$(now_ms)
    redis-cli -h "${CLUSTER_IPS[0]}" -p "$PORT" --pipe <"$LOAD" >"$OUT/pipe-$R.log" 2>&1
    write_ms=$(( $(now_ms) - t0 ))
    grep -q "errors: 0, replies: $HINT_KEYS" "$OUT/pipe-$R.log" || { echo "load failed:" >&2; cat "$OUT/pipe-$R.log" >&2; exit 1; }
    hid=$(echo "$vid" | sed "s/^0*//") # INFO prints ids without leading zeros
    hints=0; dropped=0
    for ip in "${CLUSTER_IPS[0]}" "${CLUSTER_IPS[1]}"; do
        hints=$((hints + $(info_field "$ip" replication "hints_peer_$hid" | grep . || echo 0)))
        dropped=$((dropped + $(info_field "$ip" replication hints_dropped)))
    done
    t1=$(now_ms)
    start_node "$VICTIM" "${CLUSTER_IPS[0]}" --replication-factor 3 --hint-replay-rate "$R" --max-hints $((HINT_KEYS * 2)) \
        --max-hint-bytes 1gb
    CLUSTER_PID[2]=$STARTED_PID
    alive_ms=""
    for _ in $(seq 1 6000); do # 10 min at most
        if [ -z "$alive_ms" ] && [ "$(member_state "${CLUSTER_IPS[0]}" "$vid")" = ALIVE ]; then alive_ms=$(( $(now_ms) - t1 )); fi
        [ "$(info_field "${CLUSTER_IPS[0]}" replication hints_pending)" = 0 ] \
            && [ "$(info_field "${CLUSTER_IPS[1]}" replication hints_pending)" = 0 ] && break
        sleep 0.1
    done
    done_ms=$(( $(now_ms) - t1 ))
    [ "$(info_field "${CLUSTER_IPS[0]}" replication hints_pending)" = 0 ] || { echo "hints not replayed in 10 min" >&2; exit 1; }
    keys=$(redis-cli -h "$VICTIM" -p "$PORT" dbsize)
    printf '%-12s | %8d %8d | %9.1f %9.1f | %10.1f %10.0f %15.0f | %12s\n' "$R/s" "$hints" "$dropped" \
        "$(awk -v x="$write_ms" 'BEGIN {print x / 1000}')" "$(awk -v x="${alive_ms:-0}" 'BEGIN {print x / 1000}')" \
        "$(awk -v x="$done_ms" 'BEGIN {print x / 1000}')" "$(awk -v h="$hints" -v x="$done_ms" 'BEGIN {print h * 1000 / x}')" \
        "$(awk -v h="$hints" -v x="$((done_ms - ${alive_ms:-0}))" 'BEGIN {print (x > 0 ? h * 1000 / x : 0)}')" "$keys"
    stop_cluster
done
echo "# replay s: from exec of the restarted node to hints_pending 0 on both survivors (JVM start included);"
echo "# alive s: from exec until the first survivor sees it ALIVE; keys/s: hints / replay s; after ALIVE/s: hints /"
echo "# (replay s - alive s); keys on node: the restarted node's DBSIZE afterwards (it restarts empty, so: what the hints gave it)"
