#!/usr/bin/env bash
# TrellisKV load generator (io.trelliskv.bench.LoadGen, in the test sources): GET/SET over Zipf or
# uniform keys at a read ratio, on one or more Redis-protocol targets, open loop at a fixed rate with
# latency from each request's intended send time (no coordinated omission) or closed loop; HdrHistogram
# percentiles; reproducible with --seed. Every argument goes to LoadGen; --help lists them.
#
#   bench/loadgen.sh --targets 127.0.0.1:6379 --rate 20000 --duration 5s --zipf 0.99 --read-ratio 0.9
#   bench/loadgen.sh --targets 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --connections 6 --pipeline 8
#
# Environment: JAVA_HOME (default: the JDK bin/trellis would pick, as bench/lib.sh says), LOADGEN_JAVA_OPTS (default
# -Xmx1g -XX:+UseParallelGC), LOADGEN_NO_BUILD=1 to reuse the classpath of the last build.
# Output: the table (or --json) on stdout; the test classpath is kept in bench/out/loadgen/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

LOADGEN_JAVA_OPTS=${LOADGEN_JAVA_OPTS:--Xmx1g -XX:+UseParallelGC}
OUT=bench/out/loadgen
mkdir -p "$OUT"

if [ "${LOADGEN_NO_BUILD:-0}" = 1 ] && [ -s "$OUT/classpath.txt" ]; then
    CP="target/classes:target/test-classes:$(cat "$OUT/classpath.txt")"
else
    export JAVA_HOME
    test_classpath "$OUT" 2>"$OUT/build.log" || { cat "$OUT/build.log" >&2; exit 1; }
fi

# shellcheck disable=SC2086
"$JAVA" $LOADGEN_JAVA_OPTS $PLATFORM_OPTS -Dtrellis.log.level=warn -cp "$CP" io.trelliskv.bench.LoadGen "$@"
