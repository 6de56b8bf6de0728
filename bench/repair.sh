#!/usr/bin/env bash
# TrellisKV anti-entropy figures: repair time and bytes for KEYS keys with 1 % divergence between two
# replicas, beside two references measured in the same run (a scan of one engine's entries, and a full
# copy to a wiped replica through the same repair path). Two real nodes in one JVM on loopback, over the
# peer protocol (io.trelliskv.node.RepairBenchmark, in the test sources); once per --anti-entropy-cpu
# value in CPUS. The nodes keep their data in memory only (no data directory, no log): this measures the
# repair, not the disk.
#
#   bench/repair.sh
#   KEYS=200000 CPUS="1" bench/repair.sh
#
# Environment: KEYS (default 1000000), CPUS (default "1 0.5"), JAVA_HOME (default: the newest JDK under
# /usr/lib/jvm), TRELLIS_JAVA_OPTS (default -Xmx6g -XX:+UseParallelGC).
# Output: the figures on stdout; the full log in bench/out/repair/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

KEYS=${KEYS:-1000000}
CPUS=${CPUS:-1 0.5}
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--Xmx6g -XX:+UseParallelGC}
OUT=bench/out/repair
mkdir -p "$OUT"

test_classpath "$OUT"

bench_header
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for cpu in $CPUS; do
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS -cp "$CP" io.trelliskv.node.RepairBenchmark "$KEYS" "$cpu" > "$OUT/run-$cpu.log" 2>&1
    grep -E '^(repair-bench|reference|repair|check)' "$OUT/run-$cpu.log"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
