#!/usr/bin/env bash
# False DEAD under packet loss, with real processes: 5 nodes on 127.0.0.73..77 (default membership
# settings), then LOSS (default 0.10) of every packet addressed to a node dropped by iptables on lo
# (UDP gossip and TCP alike, both directions, since replies are addressed to nodes too) for SECONDS
# (default 600); counts the DEAD verdicts the nodes log meanwhile. Every node stays up the whole time,
# so each DEAD is false. The nodes run in memory only (--appendonly no: no data is written), each with
# its own --data-dir (identity and known members) under the script's temp dir.
#
#   bench/membership-loss.sh
#   SECONDS_UNDER_LOSS=120 LOSS=0.2 bench/membership-loss.sh
#
# Environment: JAVA_HOME (default: the newest JDK under /usr/lib/jvm), TRELLIS_JAVA_OPTS (JVM options for
# every node; default -XX:+UseZGC -XX:-ZProactive, as bin/trellis).
# Needs root (iptables; installed with apt-get if missing). Removes its rule on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

LOSS=${LOSS:-0.10}
SECONDS_UNDER_LOSS=${SECONDS_UNDER_LOSS:-600}
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
HOSTS=(127.0.0.73 127.0.0.74 127.0.0.75 127.0.0.76 127.0.0.77)   # all inside 127.0.0.72/29
OUT=bench/out/membership-loss
mkdir -p "$OUT"
rm -f "$OUT"/node-*.log

command -v iptables >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null; }
command -v redis-cli >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null; }
bench_jar

RULE=(INPUT -i lo -d 127.0.0.72/29 -m statistic --mode random --probability "$LOSS" -j DROP)
bench_on_exit() { iptables -D "${RULE[@]}" 2>/dev/null || true; }
iptables -D "${RULE[@]}" 2>/dev/null || true   # a rule left by an interrupted run

PORT=$(free_port "${HOSTS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }
for i in "${!HOSTS[@]}"; do
    seed=()
    [ "$i" -gt 0 ] && seed=("${HOSTS[0]}:$PORT")
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS -cp "$TMP/trelliskv.jar" io.trelliskv.node.Main "$PORT" "${seed[@]}" \
        --host "${HOSTS[$i]}" --data-dir "$TMP/data-$i" --appendonly no >"$OUT/node-$i.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do redis-cli -h "${HOSTS[$i]}" -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 1 300); do
    alive=$(redis-cli -h "${HOSTS[0]}" -p "$PORT" members 2>/dev/null | grep -c ALIVE || true)
    [ "$alive" = 5 ] && break
    sleep 0.1
done
[ "$alive" = 5 ] || { echo "cluster did not form" >&2; exit 1; }
before=$(cat "$OUT"/node-*.log | grep -c " is DEAD" || true)
echo "# $(date -u '+%F %H:%M UTC'); 5 nodes ALIVE; dropping ${LOSS} of packets to them for ${SECONDS_UNDER_LOSS} s"
iptables -A "${RULE[@]}"
sleep "$SECONDS_UNDER_LOSS"
dropped=$(iptables -L INPUT -v -x -n | awk '/statistic/ {print $1; exit}')
iptables -D "${RULE[@]}"
after=$(cat "$OUT"/node-*.log | grep -c " is DEAD" || true)
suspect=$(cat "$OUT"/node-*.log | grep -c " is SUSPECT" || true)
alive_end=$(redis-cli -h "${HOSTS[0]}" -p "$PORT" members | grep -c ALIVE || true)
echo "packets dropped: ${dropped}; SUSPECT logged: ${suspect}; false DEAD: $((after - before)); ALIVE at the end: ${alive_end}/5"
