#!/usr/bin/env bash
# TrellisKV cluster figures, on loopback addresses of one machine:
#   1. failure detection: 5 nodes on 127.0.0.21..25; KILLS times SIGKILL one (in turn), time until
#      every other node's MEMBERS shows it SUSPECT (first) and DEAD (all), restart it, let it settle;
#   2. gossip traffic of 5 idle nodes, counted with tcpdump on lo (UDP SWIM + TCP peer push-pull);
#   3. redis-benchmark through one node of a 3-node cluster (2/3 of keys forwarded) beside a single
#      node, in the same run, rounds alternating.
# Every node runs in memory only (--appendonly no, as these figures were first measured; PERSIST
# changes it) with its --data-dir (identity and known members) under the script's temp dir; a killed
# node's directory is wiped before its restart, so it comes back as a new node.
#
#   bench/cluster.sh
#   KILLS=20 ROUNDS=5 bench/cluster.sh
#
# Environment: KILLS (default 10), IDLE_SECONDS (gossip capture, default 30), ROUNDS (redis-benchmark
# rounds per workload, median reported; default 3), REQUESTS (default 300000), CLIENTS (default 50),
# KEYSPACE (default 100000), JAVA_HOME (default: the newest JDK under /usr/lib/jvm),
# TRELLIS_JAVA_OPTS (JVM options for every node; default -XX:+UseZGC -XX:-ZProactive, as bin/trellis), PERSIST (persistence options for
# every node; default --appendonly no, e.g. PERSIST="--appendfsync everysec"), SKIP_GOSSIP=1, SKIP_KILLS=1,
# SKIP_THROUGHPUT=1 to skip a part. Needs root for tcpdump (installed with apt-get if missing).
# Output: a table on stdout; logs and raw figures in bench/out/cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

KILLS=${KILLS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-30}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
OUT=bench/out/cluster
mkdir -p "$OUT"

if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-tools..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null
fi
if [ "${SKIP_GOSSIP:-0}" != 1 ] && ! command -v tcpdump >/dev/null; then
    echo "installing tcpdump..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null
fi
export JAVA_HOME
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults
PERSIST=${PERSIST:---appendonly no}

# A private copy of the jar, so a concurrent rebuild of target/ cannot change it under the nodes.
bench_jar

CLUSTER_IPS=(127.0.0.21 127.0.0.22 127.0.0.23 127.0.0.24 127.0.0.25)
SINGLE_IP=127.0.0.31
BENCH_IPS=(127.0.0.32 127.0.0.33 127.0.0.34)

# One port free for TCP and UDP on every address used (a node takes both on its port).
PORT=$(free_port "${CLUSTER_IPS[@]}" "$SINGLE_IP" "${BENCH_IPS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
start_node() { # ip [seed ip] -> sets STARTED_PID; --data-dir $TMP/data-<ip>
    local ip=$1 seed=${2:-}
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main \
        "$PORT" ${seed:+"$seed:$PORT"} --host "$ip" --data-dir "$TMP/data-$ip" $PERSIST >>"$OUT/node-$ip.log" 2>&1 &
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
wait_settled() { # n ips... : every node sees n ALIVE and none SUSPECT; bounded at 60 s
    local n=$1; shift
    for _ in $(seq 1 600); do
        local ok=1
        for ip in "$@"; do
            [ "$(info_field "$ip" cluster members_alive)" = "$n" ] && [ "$(info_field "$ip" cluster members_suspect)" = 0 ] \
                || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    echo "cluster of $* did not settle at $n ALIVE within 60 s" >&2; return 1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for ip in "${CLUSTER_IPS[@]}" "$SINGLE_IP" "${BENCH_IPS[@]}"; do : >"$OUT/node-$ip.log"; done

bench_header "port $PORT; nodes: $PERSIST"

# --- 5-node cluster -------------------------------------------------------------------------------
NODE_PID=()
start_node "${CLUSTER_IPS[0]}"; NODE_PID[0]=$STARTED_PID
wait_ping "${CLUSTER_IPS[0]}"
for i in 1 2 3 4; do start_node "${CLUSTER_IPS[$i]}" "${CLUSTER_IPS[0]}"; NODE_PID[$i]=$STARTED_PID; done
for ip in "${CLUSTER_IPS[@]}"; do wait_ping "$ip"; done
wait_settled 5 "${CLUSTER_IPS[@]}"

# --- part 2 first, while the membership holds 5 members and no DEAD ones ----------------------------
if [ "${SKIP_GOSSIP:-0}" != 1 ]; then
    sleep 5 # join broadcasts drained
    PCAP="$OUT/idle.pcap"
    tcpdump -i lo -nn -s 96 -w "$PCAP" "port $PORT and net 127.0.0.16/28" 2>"$OUT/tcpdump.log" &
    TCPDUMP_PID=$!; PIDS+=("$TCPDUMP_PID")
    sleep 1 # tcpdump listening
    sleep "$IDLE_SECONDS"
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true
    # -e: "..., length <frame>: <src> > <dst>: UDP, length <payload>" or "...: tcp <payload>"; the frame
    # has a 14-byte loopback Ethernet header, the rest is IP.
    tcpdump -nn -e -q -r "$PCAP" 2>/dev/null | awk -v secs="$IDLE_SECONDS" '
        { for (i = 1; i <= NF; i++) if ($i == "length" && $(i + 1) ~ /:$/) { frame = $(i + 1) + 0; src = $(i + 2); break }
          sub(/\.[0-9]+$/, "", src); proto = ($0 ~ /UDP,/) ? "udp" : "tcp"; ip = frame - 14
          pay = $NF + 0
          pk[src, proto]++; by[src, proto] += ip; pl[src, proto] += pay; nodes[src] = 1 }
        END {
          printf "\n## gossip, 5 idle nodes, %d s captured on lo (bytes sent per node per second; IP bytes, payload in brackets)\n", secs
          printf "%-26s | %9s %17s\n", "node", "pkt/s", "B/s (payload)"
          n = 0
          for (s in nodes) if (s != "127.0.0.1") names[++n] = s
          for (i = 2; i <= n; i++) for (j = i; j > 1 && names[j - 1] > names[j]; j--) { t = names[j]; names[j] = names[j - 1]; names[j - 1] = t }
          for (i = 1; i <= n; i++) { s = names[i]
            printf "%-26s | %9.1f %8.0f (%6.0f)\n", s " (UDP sent)", pk[s, "udp"] / secs, by[s, "udp"] / secs, pl[s, "udp"] / secs
            tu += pk[s, "udp"]; tub += by[s, "udp"]; tup += pl[s, "udp"] }
          # Peer (push-pull) connections leave from an unbound source address (127.0.0.1), so TCP is
          # summed over the cluster, both directions, and shared out per node.
          for (s in nodes) { tt += pk[s, "tcp"]; ttb += by[s, "tcp"]; ttp += pl[s, "tcp"] }
          if (n) {
            printf "%-26s | %9.1f %8.0f (%6.0f)\n", "mean/node, UDP", tu / n / secs, tub / n / secs, tup / n / secs
            printf "%-26s | %9.2f %8.0f (%6.0f)\n", "mean/node, TCP push-pull", tt / n / secs, ttb / n / secs, ttp / n / secs
            printf "%-26s | %9.1f %8.0f (%6.0f)\n", "mean/node, all gossip", (tu + tt) / n / secs, (tub + ttb) / n / secs, (tup + ttp) / n / secs } }'
fi

# --- part 1: failure detection --------------------------------------------------------------------
if [ "${SKIP_KILLS:-0}" != 1 ]; then
    echo
    echo "## failure detection: SIGKILL one of 5 nodes, $KILLS times; MEMBERS polled on the 4 others (one sweep ~every 100 ms)"
    printf '%-5s %-12s | %12s %14s %12s | %10s\n' kill node "1st SUSPECT" "1st DEAD" "DEAD on all" "rejoin"
    : >"$OUT/kills.txt"
    for k in $(seq 0 $((KILLS - 1))); do
        v=$((k % 5)); vip=${CLUSTER_IPS[$v]}
        vid=$(redis-cli -h "$vip" -p "$PORT" members | awk '/this node/ {print $1}')
        [ -n "$vid" ] || { echo "no id from $vip" >&2; exit 1; }
        observers=(); for i in 0 1 2 3 4; do [ "$i" != "$v" ] && observers+=("${CLUSTER_IPS[$i]}"); done
        declare -A dead_at=()
        suspect_at=""
        kill -KILL "${NODE_PID[$v]}"; t0=$(now_ms)
        { wait "${NODE_PID[$v]}"; } 2>/dev/null || true
        while [ "${#dead_at[@]}" -lt "${#observers[@]}" ]; do
            t=$(now_ms)
            [ $((t - t0)) -gt 60000 ] && { echo "kill $k: $vid not DEAD everywhere after 60 s" >&2; exit 1; }
            for o in "${observers[@]}"; do
                [ -n "${dead_at[$o]:-}" ] && continue
                st=$(redis-cli -h "$o" -p "$PORT" members 2>/dev/null | awk -v id="$vid" '$1 == id {print $3}')
                ts=$(( $(now_ms) - t0 ))
                case "$st" in
                    SUSPECT) [ -z "$suspect_at" ] && suspect_at=$ts ;;
                    DEAD) dead_at[$o]=$ts; [ -z "$suspect_at" ] && suspect_at=$ts ;;
                esac
            done
            sleep 0.1
        done
        first_dead=$(printf '%s\n' "${dead_at[@]}" | sort -n | head -n 1)
        all_dead=$(printf '%s\n' "${dead_at[@]}" | sort -n | tail -n 1)
        unset dead_at
        # Restart at the same address (a fresh node id: its data directory wiped), joining through the next node.
        seed=${CLUSTER_IPS[$(((v + 1) % 5))]}
        rm -rf "$TMP/data-$vip"
        t1=$(now_ms)
        start_node "$vip" "$seed"; NODE_PID[$v]=$STARTED_PID
        wait_ping "$vip"
        wait_settled 5 "${CLUSTER_IPS[@]}"
        rejoin=$(( $(now_ms) - t1 ))
        echo "$suspect_at $first_dead $all_dead $rejoin" >>"$OUT/kills.txt"
        printf '%-5s %-12s | %9.2f s %11.2f s %9.2f s | %8.2f s\n' "$((k + 1))" "$vip" \
            "$(awk -v x="$suspect_at" 'BEGIN {print x / 1000}')" "$(awk -v x="$first_dead" 'BEGIN {print x / 1000}')" \
            "$(awk -v x="$all_dead" 'BEGIN {print x / 1000}')" "$(awk -v x="$rejoin" 'BEGIN {print x / 1000}')"
    done
    awk '{print $1}' "$OUT/kills.txt" | sort -n >"$OUT/s.txt"; awk '{print $3}' "$OUT/kills.txt" | sort -n >"$OUT/d.txt"
    awk '{print $2}' "$OUT/kills.txt" | sort -n >"$OUT/f.txt"; awk '{print $4}' "$OUT/kills.txt" | sort -n >"$OUT/r.txt"
    mstat() { awk '{a[NR] = $1} END {printf "%.2f s / %.2f s", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000, a[NR] / 1000}' "$1"; }
    printf '%-32s %s\n' "kill -> 1st SUSPECT, median/worst" "$(mstat "$OUT/s.txt")"
    printf '%-32s %s\n' "kill -> 1st DEAD, median/worst" "$(mstat "$OUT/f.txt")"
    printf '%-32s %s\n' "kill -> DEAD on all, median/worst" "$(mstat "$OUT/d.txt")"
    printf '%-32s %s\n' "restart -> 5 ALIVE everywhere" "$(mstat "$OUT/r.txt")"
fi

# The 5-node cluster is done; stop it so that it does not take CPU from part 3.
for p in "${NODE_PID[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${NODE_PID[@]}"; do wait "$p" 2>/dev/null || true; done

[ "${SKIP_THROUGHPUT:-0}" = 1 ] && exit 0

# --- part 3: throughput, single node vs one node of a 3-node cluster --------------------------------
start_node "$SINGLE_IP"
start_node "${BENCH_IPS[0]}"; wait_ping "${BENCH_IPS[0]}"
start_node "${BENCH_IPS[1]}" "${BENCH_IPS[0]}"; start_node "${BENCH_IPS[2]}" "${BENCH_IPS[0]}"
for ip in "$SINGLE_IP" "${BENCH_IPS[@]}"; do wait_ping "$ip"; done
wait_settled 3 "${BENCH_IPS[@]}"
for _ in $(seq 1 300); do # every node's ring holds all three (tokens travel with the membership)
    ok=1; for ip in "${BENCH_IPS[@]}"; do [ "$(info_field "$ip" cluster ring_nodes)" = 3 ] || ok=0; done
    [ "$ok" = 1 ] && break; sleep 0.1
done
[ "$ok" = 1 ] || { echo "3-node ring did not form within 30 s" >&2; exit 1; }
ENTRY=${BENCH_IPS[0]}
own=$(redis-cli -h "$ENTRY" -p "$PORT" members | awk '/this node/ {print $5}')

bench() { # ip pipeline -> "SET rps p50 p99" and "GET rps p50 p99"
    redis-benchmark -h "$1" -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$2" -t set,get --csv 2>/dev/null \
        | tr -d '"' | awk -F, '$1 == "SET" || $1 == "GET" {print $1, $2, $5, $7}'
}
for ip in "$SINGLE_IP" "$ENTRY"; do # warm the JIT of every node the load goes through
    redis-benchmark -h "$ip" -p "$PORT" -c "$CLIENTS" -n 300000 -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
    redis-benchmark -h "$ip" -p "$PORT" -c "$CLIENTS" -n 100000 -d 100 -r "$KEYSPACE" -t set,get -q >/dev/null
done
fwd0=$(info_field "$ENTRY" cluster forwarded_requests)
echo
echo "## throughput: redis-benchmark -t set,get -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE, median of $ROUNDS rounds (alternating)"
echo "## (a) single node; (b) through one node of a 3-node cluster owning $own of the ring, the rest forwarded one hop"
printf '%-5s %-3s | %12s %8s %8s | %12s %8s %8s | %7s\n' test P "single ops/s" "p50 ms" "p99 ms" "cluster ops/s" "p50 ms" "p99 ms" "ratio"
for P in 1 16; do
    : >"$OUT/P$P.single"; : >"$OUT/P$P.cluster"
    for _ in $(seq 1 "$ROUNDS"); do
        bench "$SINGLE_IP" "$P" >>"$OUT/P$P.single"
        bench "$ENTRY" "$P" >>"$OUT/P$P.cluster"
    done
    for T in SET GET; do
        col() { awk -v t="$T" -v c="$2" '$1 == t {print $c}' "$1" | median; }
        s_rps=$(col "$OUT/P$P.single" 2); s_p50=$(col "$OUT/P$P.single" 3); s_p99=$(col "$OUT/P$P.single" 4)
        c_rps=$(col "$OUT/P$P.cluster" 2); c_p50=$(col "$OUT/P$P.cluster" 3); c_p99=$(col "$OUT/P$P.cluster" 4)
        printf '%-5s %-3s | %12.0f %8s %8s | %12.0f %8s %8s | %6.2fx\n' "$T" "$P" "$s_rps" "$s_p50" "$s_p99" "$c_rps" "$c_p50" "$c_p99" \
            "$(awk -v a="$c_rps" -v b="$s_rps" 'BEGIN { print a / b }')"
    done
done
fwd1=$(info_field "$ENTRY" cluster forwarded_requests)
total=$((ROUNDS * 2 * 2 * REQUESTS))
echo "# forwarded by the entry node: $((fwd1 - fwd0)) of $total requests ($(awk -v a="$((fwd1 - fwd0))" -v b="$total" 'BEGIN {printf "%.1f%%", 100 * a / b}'))," \
    "forward failures: $(info_field "$ENTRY" cluster forward_failures)"
