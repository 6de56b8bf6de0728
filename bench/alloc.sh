#!/usr/bin/env bash
# Bytes the JVM allocates per command on each node of a 3-node cluster (--replication-factor 3, both
# levels QUORUM, in memory only) under redis-benchmark through the first node, the "entry node", beside a
# single node under the same load. Garbage per request is what drives the collector's CPU on a node whose
# live heap is small (docs/BENCHMARKS.md, "Replicated requests: garbage per request").
#
#   bench/alloc.sh
#   TESTS="set get" PIPELINE=16 REQUESTS=500000 bench/alloc.sh
#
# For each test: warm-up (400,000 SETs and GETs at -P 16), then a JFR recording (settings=profile) on every
# node around REQUESTS commands; per node, the growth of jdk.ThreadAllocationStatistics over the recording,
# summed over its threads, divided by REQUESTS. Environment: TESTS (default "set get"), PIPELINE (default 16),
# REQUESTS (default 300000), CLIENTS (default 50), KEYSPACE (default 100000), JAVA_HOME, TRELLIS_JAVA_OPTS
# (default -XX:+UseZGC -XX:-ZProactive, as bin/trellis), JAR (default target/trelliskv.jar). Needs python3 (to read JFR's JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

TESTS=${TESTS:-set get}
PIPELINE=${PIPELINE:-16}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
JCMD="$JAVA_HOME/bin/jcmd"
JFR="$JAVA_HOME/bin/jfr"
bench_jar

IPS=(127.0.0.82 127.0.0.83 127.0.0.84 127.0.0.81) # three cluster nodes, then the single node
PORT=$(free_port "${IPS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

bytes_per_command() { # jfr-file -> bytes allocated per command over the recording, all threads
    "$JFR" print --json --events jdk.ThreadAllocationStatistics "$1" | python3 -c '
import json, sys
first, last = {}, {}
for e in json.load(sys.stdin)["recording"]["events"]:
    v = e["values"]; t = v["thread"]["javaThreadId"] if v["thread"] else -1
    first.setdefault(t, v["allocated"]); last[t] = v["allocated"]
print("%.0f" % (sum(last[t] - first[t] for t in last) / float(sys.argv[1])))' "$REQUESTS"
}
measure() { # entry-ip test pid... -> one "bytes/command" figure per pid
    local entry=$1 test=$2; shift 2
    local p
    redis-benchmark -h "$entry" -p "$PORT" -c "$CLIENTS" -n 400000 -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
    for p in "$@"; do "$JCMD" "$p" JFR.start name=alloc settings=profile filename="$TMP/$p.jfr" >/dev/null; done
    redis-benchmark -h "$entry" -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$PIPELINE" -t "$test" -q >/dev/null
    for p in "$@"; do "$JCMD" "$p" JFR.stop name=alloc >/dev/null; done
    for p in "$@"; do echo -n " $(bytes_per_command "$TMP/$p.jfr")"; done
}

quorum_cluster "${IPS[0]}" "${IPS[1]}" "${IPS[2]}"
P0=${CLUSTER_PIDS[0]} P1=${CLUSTER_PIDS[1]} P2=${CLUSTER_PIDS[2]}

bench_header "port $PORT$JAR_NOTE"
echo "## bytes allocated per command: redis-benchmark -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE -P $PIPELINE"
echo "## cluster: 3 nodes, --replication-factor 3, QUORUM reads and writes, load through the entry node"
printf '%-5s | %12s %12s %12s | %12s\n' test entry replica-1 replica-2 single
declare -A CLUSTER
for t in $TESTS; do CLUSTER[$t]=$(measure "${IPS[0]}" "$t" "$P0" "$P1" "$P2"); done
kill "$P0" "$P1" "$P2"; wait "$P0" "$P1" "$P2" 2>/dev/null || true
quorum_node "${IPS[3]}"; PS=$STARTED_PID
for t in $TESTS; do
    single=$(measure "${IPS[3]}" "$t" "$PS")
    # shellcheck disable=SC2086
    printf '%-5s | %12s %12s %12s | %12s\n' "$t" ${CLUSTER[$t]} $single
done
