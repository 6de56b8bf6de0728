#!/usr/bin/env bash
# Two builds side by side: the CPU a 3-node cluster (--replication-factor 3, QUORUM, in memory only) spends per
# 1,000 requests through one node, for build A and build B, both clusters up together and measured in turns, so
# that the machine's drift falls on both alike. For a change too small for bench/replication.sh's rounds to show
# on a noisy machine (a few percent of one node), where one build's clusters measured minutes apart differ by more.
#
#   bench/sidebyside.sh OLD.jar NEW.jar              # e.g. a jar built from the commit before, and target/trelliskv.jar
#   TEST=get ROUNDS=16 REQUESTS=500000 bench/sidebyside.sh OLD.jar NEW.jar
#   NODES=1 KEYSPACE=1000000 bench/sidebyside.sh OLD.jar NEW.jar   # two single nodes instead of two clusters
#
# Each jar is copied with the lib/ beside it (as bench_jar does). Both clusters get WARMUP SETs (for TEST=get, then
# WARMUP GETs), then rounds of REQUESTS until their JIT compilers settle (lib.sh, jit_settle); then ROUNDS rounds,
# A then B in odd rounds and B then A in even ones, of redis-benchmark -c CLIENTS -n REQUESTS -d 100 -r KEYSPACE
# -P PIPELINE -t TEST through each entry node, with utime+stime of the three nodes read from /proc before and after.
# Output: per round, ms per 1,000 requests of the three nodes (and of the entry node and of the two replicas) for A
# and B; then the medians of each round's B/A for the three nodes, the entry node and the replicas, with the middle
# half of the rounds' B/A (first to third quartile), and the median ops/s of each. A change that touches only the entry node leaves the replicas' B/A at 1.0 up to the noise, which
# that figure shows.
#
# With NODES=1 each build runs as one node (no cluster): its figures are the "entry node" columns, the replicas'
# are 0.
#
# Environment: NODES (3 or 1; default 3), ROUNDS (default 20), REQUESTS (default 300000), WARMUP (default 3000000), PIPELINE (default 16),
# CLIENTS (default 50), KEYSPACE (default 100000), TEST (set or get; default set), TRELLIS_JAVA_OPTS (default
# -XX:+UseZGC -XX:-ZProactive, as bin/trellis), JAVA_HOME. Needs redis-benchmark, redis-cli and python3.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 A.jar B.jar" >&2; exit 2; }
A_SRC=$(realpath "$1"); B_SRC=$(realpath "$2")
cd "$(dirname "$0")/.."
. bench/lib.sh

TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive}
ROUNDS=${ROUNDS:-20}
REQUESTS=${REQUESTS:-300000}
WARMUP=${WARMUP:-3000000}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TEST=${TEST:-set}
NODES=${NODES:-3}
case "$TEST" in set | get) ;; *) echo "TEST: $TEST (expected: set or get)" >&2; exit 2 ;; esac
case "$NODES" in 1 | 3) ;; *) echo "NODES: $NODES (expected: 1 or 3)" >&2; exit 2 ;; esac
for tool in redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install redis-tools python3)" >&2; exit 1; }
done

bench_tmp
for side in A B; do
    src=$A_SRC; [ "$side" = B ] && src=$B_SRC
    mkdir -p "$TMP/$side"
    cp "$src" "$TMP/$side/trelliskv.jar"
    if [ -d "$(dirname "$src")/lib" ]; then cp -r "$(dirname "$src")/lib" "$TMP/$side/lib"; fi
done
IPS_A=(127.0.0.81 127.0.0.82 127.0.0.83)
IPS_B=(127.0.0.85 127.0.0.86 127.0.0.87)
PORT=$(free_port "${IPS_A[@]}" "${IPS_B[@]}")
if [ "$NODES" = 3 ]; then
    JAR="$TMP/A/trelliskv.jar"; quorum_cluster "${IPS_A[@]}"; PIDS_A=("${CLUSTER_PIDS[@]}")
    JAR="$TMP/B/trelliskv.jar"; quorum_cluster "${IPS_B[@]}"; PIDS_B=("${CLUSTER_PIDS[@]}")
else
    JAR="$TMP/A/trelliskv.jar"; single_node "${IPS_A[0]}"; PIDS_A=("$STARTED_PID")
    JAR="$TMP/B/trelliskv.jar"; single_node "${IPS_B[0]}"; PIDS_B=("$STARTED_PID")
fi

bench_header "A: $1; B: $2; port $PORT"
echo "# $ROUNDS rounds of redis-benchmark -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE -P $PIPELINE -t $TEST" \
    "through each cluster's entry node, in turns, after $WARMUP unmeasured and until the JIT settled"

load() { # test ip requests -> ops/s
    redis-benchmark -h "$2" -p "$PORT" -c "$CLIENTS" -n "$3" -d 100 -r "$KEYSPACE" -P "$PIPELINE" -t "$1" --csv 2>/dev/null \
        | awk -F'"' 'NR == 2 {print $4}'
}
warm_round() { load "$@" >/dev/null; }
for side in A B; do
    if [ "$side" = A ]; then ip=${IPS_A[0]}; node_pids="${PIDS_A[*]}"; else ip=${IPS_B[0]}; node_pids="${PIDS_B[*]}"; fi
    warm_round set "$ip" "$WARMUP"
    if [ "$TEST" = get ]; then warm_round get "$ip" "$WARMUP"; fi
    jit_settle "$node_pids" warm_round "$TEST" "$ip" "$REQUESTS"
    echo "# $side: the JIT settled after $SETTLED rounds"
done

: >"$TMP/rounds"
for r in $(seq 1 "$ROUNDS"); do
    order="A B"; [ $((r % 2)) = 0 ] && order="B A"
    for side in $order; do
        if [ "$side" = A ]; then ip=${IPS_A[0]}; p=("${PIDS_A[@]}"); else ip=${IPS_B[0]}; p=("${PIDS_B[@]}"); fi
        e0=$(cpu_ticks "${p[0]}"); r0=$(cpu_ticks "${p[@]:1}")
        ops=$(load "$TEST" "$ip" "$REQUESTS")
        e1=$(cpu_ticks "${p[0]}"); r1=$(cpu_ticks "${p[@]:1}")
        echo "$r $side $((e1 - e0)) $((r1 - r0)) $ops" >>"$TMP/rounds"
    done
done

python3 - "$TMP/rounds" "$REQUESTS" "$(getconf CLK_TCK)" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
per = int(sys.argv[2]) / 1000 / (1000 / int(sys.argv[3]))  # ticks -> ms per 1,000 requests: ticks * (1000/hz) / (n/1000)
rounds = {}
for r, side, entry, replicas, ops in rows:
    e, p = int(entry) / per, int(replicas) / per
    rounds.setdefault(int(r), {})[side] = (e + p, e, p, float(ops))
print("round |     A: three  entry  replicas |     B: three  entry  replicas |  B/A three  entry  replicas")
ratios = {k: [] for k in ("three", "entry", "replicas")}
for r in sorted(rounds):
    a, b = rounds[r]["A"], rounds[r]["B"]
    for i, k in enumerate(ratios):
        if a[i] > 0:
            ratios[k].append(b[i] / a[i])
    print("%5d | %12.3f %6.3f %9.3f | %12.3f %6.3f %9.3f | %10.3f %6.3f %9.3f" % (
        r, a[0], a[1], a[2], b[0], b[1], b[2], b[0] / a[0], b[1] / a[1], b[2] / a[2] if a[2] else 0))
med = lambda xs: statistics.median(xs) if xs else float("nan")
print("medians of B/A: three nodes %.3fx, entry node %.3fx, replicas %.3fx" % (
    med(ratios["three"]), med(ratios["entry"]), med(ratios["replicas"])))
def quartiles(xs):  # the middle half of the rounds' B/A: how far the machine's noise spreads them
    return "%.3f-%.3f" % tuple(statistics.quantiles(xs, n=4)[0::2]) if len(xs) >= 2 else "n/a"
print("middle half of the rounds' B/A: three nodes %s, entry node %s, replicas %s" % (
    quartiles(ratios["three"]), quartiles(ratios["entry"]), quartiles(ratios["replicas"])))
print("median ms per 1,000: A %.3f (entry %.3f), B %.3f (entry %.3f); median ops/s: A %.0f, B %.0f" % (
    med([v["A"][0] for v in rounds.values()]), med([v["A"][1] for v in rounds.values()]),
    med([v["B"][0] for v in rounds.values()]), med([v["B"][1] for v in rounds.values()]),
    med([v["A"][3] for v in rounds.values()]), med([v["B"][3] for v in rounds.values()])))
EOF
