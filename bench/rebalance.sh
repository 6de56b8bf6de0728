#!/usr/bin/env bash
# TrellisKV rebalancing figures: a fourth node joining a three-node cluster (N = 3) that holds KEYS keys:
# time from start to NORMAL, the bootstrap stream's rate (keys/s, MB/s) and the share of the data moved.
# Real nodes in one JVM on loopback, over the peer protocol (io.trelliskv.node.RebalanceBenchmark, in
# the test sources); once per --stream-throughput value in RATES (MiB/s, 0 = unlimited). The nodes keep
# their data in memory only (no data directory, no log): this measures the stream, not the disk.
#
#   bench/rebalance.sh
#   KEYS=200000 RATES="0" bench/rebalance.sh
#
# Environment: KEYS (default 1000000), RATES (default "0 64"), JAVA_HOME (default: the newest JDK under
# /usr/lib/jvm), TRELLIS_JAVA_OPTS (default -Xmx8g -XX:+UseParallelGC).
# Output: the figures on stdout; the full log in bench/out/rebalance/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

KEYS=${KEYS:-1000000}
RATES=${RATES:-0 64}
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--Xmx8g -XX:+UseParallelGC}
OUT=bench/out/rebalance
mkdir -p "$OUT"

test_classpath "$OUT"

bench_header
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rate in $RATES; do
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS -cp "$CP" io.trelliskv.node.RebalanceBenchmark "$KEYS" "$rate" > "$OUT/run-$rate.log" 2>&1
    grep -E '^(rebalance-bench|join|stream|moved|check)' "$OUT/run-$rate.log"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
