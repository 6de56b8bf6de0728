#!/usr/bin/env bash
# Where a replicated write's CPU goes: CPU time per 1,000 commands of each node's threads, grouped by thread
# name, on a 3-node cluster (--replication-factor 3, both levels QUORUM, in memory only) under redis-benchmark
# through the first node (the "entry node"), and on a single node under the same load; then each process's
# CPU while idle. bench/replication.sh gives the totals; this says which threads they come from (I/O
# threads, the collector, the JIT compilers, background work).
#
#   bench/threads.sh
#   TEST=get PIPELINE=1 REQUESTS=300000 bench/threads.sh
#
# Each node is warmed up (WARMUP SETs and GETs at -P 16) before utime and stime of every thread are read
# from /proc/PID/task/*/stat, before and after REQUESTS commands of TEST at -P PIPELINE; then again across
# IDLE seconds without load. Figures are ms of CPU per 1,000 commands (user + system, the system part
# beside it), and ms per second for the idle part. Environment: TEST (default set), PIPELINE (default 16),
# REQUESTS (default 1000000), WARMUP (default 1000000), CLIENTS (default 50), KEYSPACE (default 100000),
# IDLE (default 10), JAVA_HOME, TRELLIS_JAVA_OPTS (default -XX:+UseZGC -XX:-ZProactive, as bin/trellis), JAR (default target/trelliskv.jar).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

TEST=${TEST:-set}
PIPELINE=${PIPELINE:-16}
REQUESTS=${REQUESTS:-1000000}
WARMUP=${WARMUP:-1000000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
IDLE=${IDLE:-10}
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
HZ=$(getconf CLK_TCK)
bench_jar

IPS=(127.0.0.72 127.0.0.73 127.0.0.74 127.0.0.71) # three cluster nodes, then the single node
PORT=$(free_port "${IPS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

snapshot() { # pid file: one "tid|name|utime|stime" line per thread (fields 14 and 15 of stat, after the name)
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s|%s|%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" \
            "$(cut -d')' -f2 "$t/stat" 2>/dev/null | awk '{print $12 "|" $13}')"
    done >"$2"
}
report() { # label before after divisor unit: per thread group (name without its number), CPU ms / divisor
    join -t'|' <(sort "$2") <(sort "$3") | awk -F'|' -v label="$1" -v hz="$HZ" -v div="$4" -v unit="$5" '
        { g = $2; while (sub(/[-#]?[0-9]+$/, "", g)) { } sub(/-$/, "", g)
          u = ($6 - $3) * 1000 / hz / div; s = ($7 - $4) * 1000 / hz / div
          usr[g] += u; sys[g] += s; tu += u; ts += s }
        END { order = "sort -t\"|\" -k1,1nr | cut -d\"|\" -f2-"
              for (g in usr) if (usr[g] + sys[g] > 0)
                  printf "%010.2f|%-8s %-22s %7.2f  (system %5.2f)\n", usr[g] + sys[g], label, g, usr[g] + sys[g], sys[g] | order
              close(order)
              printf "%-8s %-22s %7.2f  (system %5.2f)  %s\n", label, "all threads", tu + ts, ts, unit }'
}
measure() { # entry-ip label=pid...: per-thread CPU per 1,000 commands of TEST through entry-ip
    local entry=$1; shift
    local lp
    redis-benchmark -h "$entry" -p "$PORT" -c "$CLIENTS" -n "$WARMUP" -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
    for lp in "$@"; do snapshot "${lp#*=}" "$TMP/before-${lp%%=*}"; done
    redis-benchmark -h "$entry" -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$PIPELINE" \
        -t "$TEST" -q | tr '\r' '\n' | grep 'per second' | tail -n 1
    for lp in "$@"; do snapshot "${lp#*=}" "$TMP/after-${lp%%=*}"; done
    for lp in "$@"; do report "${lp%%=*}" "$TMP/before-${lp%%=*}" "$TMP/after-${lp%%=*}" "$((REQUESTS / 1000))" \
        "ms per 1,000 commands"; done
    for lp in "$@"; do snapshot "${lp#*=}" "$TMP/before-${lp%%=*}"; done
    sleep "$IDLE"
    for lp in "$@"; do snapshot "${lp#*=}" "$TMP/after-${lp%%=*}"; done
    for lp in "$@"; do report "${lp%%=*}" "$TMP/before-${lp%%=*}" "$TMP/after-${lp%%=*}" "$IDLE" \
        "ms per second, idle"; done
}

bench_header "nodes: --appendonly no$JAR_NOTE"
echo "# redis-benchmark -t $TEST -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE -P $PIPELINE after $WARMUP SETs and GETs at -P 16; then $IDLE s idle"
echo "## (a) 3 nodes, --replication-factor 3, QUORUM, load through ${IPS[0]} (entry); thread groups by CPU"
quorum_cluster "${IPS[0]}" "${IPS[1]}" "${IPS[2]}"
measure "${IPS[0]}" entry="${CLUSTER_PIDS[0]}" replica1="${CLUSTER_PIDS[1]}" replica2="${CLUSTER_PIDS[2]}"
kill "${CLUSTER_PIDS[@]}"; wait "${CLUSTER_PIDS[@]}" 2>/dev/null || true

echo "## (b) a single node"
quorum_node "${IPS[3]}"; SINGLE_PID=$STARTED_PID
measure "${IPS[3]}" single="$SINGLE_PID"
