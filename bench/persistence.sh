#!/usr/bin/env bash
# TrellisKV persistence beside redis-server with its AOF, in one run, on loopback:
#   1. write throughput: redis-benchmark SET (-c 50, 100-byte values, random keys) at -P 1 and -P 16
#      against redis-server --appendonly yes and a node --appendonly yes, for --appendfsync always and
#      everysec (the same on both), plus a node --appendonly no: our in-memory reference. All five
#      servers run side by side; runs alternate between them, each started once nothing is writing a
#      snapshot or rewriting its AOF; median of RUNS.
#   2. restart of exactly 1,000,000 keys (key:0 .. key:999999, 100-byte random values, loaded by redis-cli
#      --pipe into a fresh server of each kind, everysec): SIGKILL, restart, time from exec to the first
#      PONG, and the server's own load time from its log:
#        (a) our log: the data directory as the load left it (with the default rewrite threshold a
#            snapshot is written during the load, so it is snapshot + log tail: the split is shown);
#        (b) our snapshot: after BGSAVE (rdb_bgsave_in_progress:0 in INFO persistence);
#        redis AOF: its appendonlydir as the load left it (Redis 7's defaults: an automatic rewrite with
#            an RDB preamble, so also base + incr), restarted with --appendonly yes;
#        redis RDB: after BGSAVE, restarted with --appendonly no so that it loads dump.rdb.
#      Every restart starts from a copy of the directory as it was before the first one (a started Redis
#      may rewrite its AOF at once), restarts alternate, median of RUNS.
#   3. disk bytes per key: du of each directory / 1M, and per record of each format.
# redis-server runs with --save '' (no RDB snapshots but those asked for) and its other defaults
# (auto-aof-rewrite-percentage 100, auto-aof-rewrite-min-size 64mb, aof-use-rdb-preamble yes); the node
# with its defaults (a snapshot once the log since the last has grown past 64 MiB and 100 % of it).
# Every directory is under the script's temp dir.
#
#   bench/persistence.sh
#   RUNS=5 bench/persistence.sh
#
# Environment: RUNS (runs per figure, median reported; default 3), CLIENTS (default 50), KEYSPACE
# (default 1000000), REQUESTS (per everysec / in-memory run, default 300000), REQUESTS_ALWAYS (per
# appendfsync always run at -P 1, default 50000; at -P 16 REQUESTS_ALWAYS*4), JAVA_HOME (default: the
# newest JDK under /usr/lib/jvm), TRELLIS_JAVA_OPTS (JVM options for every node; default -XX:+UseZGC -XX:-ZProactive, as bin/trellis),
# SKIP_THROUGHPUT=1, SKIP_RESTART=1 to skip a part.
# Output: tables on stdout; raw figures and logs in bench/out/persistence/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-1000000}
REQUESTS=${REQUESTS:-300000}
REQUESTS_ALWAYS=${REQUESTS_ALWAYS:-50000}
KEYS=1000000
OUT=bench/out/persistence
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.txt

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-server and redis-tools..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
export JAVA_HOME
TRELLIS_JAVA_OPTS=${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} # bin/trellis's defaults

# A private copy of the jar, so a concurrent rebuild of target/ cannot change it under the nodes.
bench_jar

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
start_trellis() { # name port [node options...] -> STARTED_PID; --data-dir $TMP/<name>, log $OUT/<name>.log
    local name=$1 port=$2; shift 2
    # shellcheck disable=SC2086
    "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS -cp "$JAR" io.trelliskv.node.Main \
        "$port" --data-dir "$TMP/$name" "$@" >>"$OUT/$name.log" 2>&1 &
    STARTED_PID=$!; PIDS+=("$STARTED_PID")
}
start_redis() { # name port [redis options...] -> STARTED_PID; --dir $TMP/<name>, log $OUT/<name>.log
    local name=$1 port=$2; shift 2
    mkdir -p "$TMP/$name"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP/$name" --save '' --daemonize no \
        --logfile "$(pwd)/$OUT/$name.log" "$@" &
    STARTED_PID=$!; PIDS+=("$STARTED_PID")
}
wait_ping() { # port [seconds, default 30]
    local deadline=$(( $(now_ms) + ${2:-30} * 1000 ))
    until [ "$(redis-cli -p "$1" ping 2>/dev/null)" = "PONG" ]; do
        [ "$(now_ms)" -gt "$deadline" ] && { echo "server on port $1 did not answer PING" >&2; return 1; }
        sleep 0.02
    done
}
kill9() { kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
info_field() { redis-cli -p "$1" info "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^$3://p"; }
busy() { # port: 1 while it writes a snapshot / an RDB or rewrites its AOF
    local b r
    b=$(info_field "$1" persistence rdb_bgsave_in_progress); r=$(info_field "$1" persistence aof_rewrite_in_progress)
    [ "${b:-0}" = 1 ] || [ "${r:-0}" = 1 ] && echo 1 || echo 0
}
wait_quiet() { # ports...: none writing a snapshot or rewriting (bounded at 120 s)
    for _ in $(seq 1 1200); do
        local any=0
        for p in "$@"; do [ "$(busy "$p")" = 1 ] && { any=1; break; }; done
        [ "$any" = 0 ] && return 0
        sleep 0.1
    done
    echo "a server on ports $* still busy after 120 s" >&2
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }

bench_header "RUNS=$RUNS"
echo "# redis: $(redis-server --version | cut -d' ' -f3); redis-server --save '' --appendonly yes --appendfsync MODE (other settings default)"

# --- part 1: write throughput ------------------------------------------------------------------------
if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
    declare -A PORT=()
    for s in redis-always redis-everysec trellis-always trellis-everysec trellis-memory; do PORT[$s]=$(free_port); done
    start_redis redis-always "${PORT[redis-always]}" --appendonly yes --appendfsync always
    start_redis redis-everysec "${PORT[redis-everysec]}" --appendonly yes --appendfsync everysec
    start_trellis trellis-always "${PORT[trellis-always]}" --appendonly yes --appendfsync always
    start_trellis trellis-everysec "${PORT[trellis-everysec]}" --appendonly yes --appendfsync everysec
    start_trellis trellis-memory "${PORT[trellis-memory]}" --appendonly no
    for s in "${!PORT[@]}"; do wait_ping "${PORT[$s]}"; done

    # Warm the JIT of each node (the always node at a smaller count: its writes wait for the disk).
    for s in trellis-everysec trellis-memory trellis-always; do
        n=500000; [ "$s" = trellis-always ] && n=200000
        redis-benchmark -p "${PORT[$s]}" -c "$CLIENTS" -n "$n" -d 100 -r "$KEYSPACE" -P 16 -t set,get -q >/dev/null
        redis-benchmark -p "${PORT[$s]}" -c "$CLIENTS" -n $((n / 10)) -d 100 -r "$KEYSPACE" -t set,get -q >/dev/null
    done

    bench() { # port pipeline requests -> "rps p50 p99"
        redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n "$3" -d 100 -r "$KEYSPACE" -P "$2" -t set --csv 2>/dev/null \
            | tail -n 1 | tr -d '"' | awk -F, '{print $2, $5, $7}'
    }
    echo
    echo "## write throughput: redis-benchmark -t set -c $CLIENTS -d 100 -r $KEYSPACE (-n $REQUESTS; always: -n $REQUESTS_ALWAYS" \
        "at -P 1, $((REQUESTS_ALWAYS * 4)) at -P 16), median of $RUNS runs alternating between the 5 servers"
    for P in 1 16; do
        for s in "${!PORT[@]}"; do : >"$OUT/P$P-$s.txt"; done
        for _ in $(seq 1 "$RUNS"); do
            for s in redis-always trellis-always redis-everysec trellis-everysec trellis-memory; do
                n=$REQUESTS
                case "$s" in *-always) n=$REQUESTS_ALWAYS; [ "$P" = 16 ] && n=$((REQUESTS_ALWAYS * 4)) ;; esac
                wait_quiet "${PORT[@]}"
                bench "${PORT[$s]}" "$P" "$n" >>"$OUT/P$P-$s.txt"
            done
        done
    done
    printf '\n%-9s %-3s | %12s %7s %7s | %13s %7s %7s | %8s | %13s %8s\n' appendfsync P "redis ops/s" "p50 ms" "p99 ms" \
        "trellis ops/s" "p50 ms" "p99 ms" "vs redis" "in-mem ops/s" "vs in-mem"
    for P in 1 16; do
        col() { cut -d' ' -f"$2" "$OUT/P$P-$1.txt" | median; }
        m_rps=$(col trellis-memory 1)
        for mode in always everysec; do
            r_rps=$(col "redis-$mode" 1); t_rps=$(col "trellis-$mode" 1)
            printf '%-9s %-3s | %12.0f %7s %7s | %13.0f %7s %7s | %8s | %13.0f %8s\n' "$mode" "$P" \
                "$r_rps" "$(col "redis-$mode" 2)" "$(col "redis-$mode" 3)" "$t_rps" "$(col "trellis-$mode" 2)" \
                "$(col "trellis-$mode" 3)" "$(ratio "$t_rps" "$r_rps")" "$m_rps" "$(ratio "$t_rps" "$m_rps")"
        done
        printf '%-9s %-3s | %12s %7s %7s | %13.0f %7s %7s | %8s | %13s %8s\n' "(no log)" "$P" - - - "$m_rps" \
            "$(col trellis-memory 2)" "$(col trellis-memory 3)" - - -
    done
    echo "# snapshots written by the nodes: always $(grep -c 'Snapshot .* written' "$OUT/trellis-always.log" || true)," \
        "everysec $(grep -c 'Snapshot .* written' "$OUT/trellis-everysec.log" || true);" \
        "AOF rewrites by redis: always $(info_field "${PORT[redis-always]}" persistence aof_rewrites)," \
        "everysec $(info_field "${PORT[redis-everysec]}" persistence aof_rewrites)"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    for s in "${!PORT[@]}"; do rm -rf "${TMP:?}/$s"; done
fi

[ "${SKIP_RESTART:-0}" = 1 ] && exit 0

# --- part 2: restart of 1,000,000 keys ------------------------------------------------------------------
# Values: 100 random hex digits, 1,000 different ones in turn, so that no format gains by compressing
# them (Redis's RDB compresses each string with LZF: 100 equal bytes would take a few).
LOAD="$OUT/load-1m-hex.resp"
if [ ! -s "$LOAD" ]; then
    awk 'BEGIN { srand(1); for (j = 0; j < 1000; j++) { s = ""; for (c = 0; c < 100; c++) s = s sprintf("%x", int(rand() * 16)); v[j] = s }
        for (i = 0; i < 1000000; i++) { k = "key:" i;
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", length(k), k, v[i % 1000] } }' >"$LOAD"
fi
T_PORT=$(free_port); R_PORT=$(free_port)
load() { # port name -> prints the load's ms
    local t0 t1
    t0=$(now_ms)
    redis-cli -p "$1" --pipe <"$LOAD" >"$OUT/pipe-$2.txt" 2>&1
    t1=$(now_ms)
    grep -q "errors: 0, replies: $KEYS" "$OUT/pipe-$2.txt" || { echo "load into $2 failed:" >&2; cat "$OUT/pipe-$2.txt" >&2; exit 1; }
    echo $((t1 - t0))
}
bgsave_wait() { # port
    local before
    before=$(info_field "$1" persistence rdb_last_save_time)
    redis-cli -p "$1" bgsave >/dev/null
    for _ in $(seq 1 1200); do
        [ "$(info_field "$1" persistence rdb_bgsave_in_progress)" = 0 ] \
            && [ "$(info_field "$1" persistence rdb_last_save_time)" != "$before" ] && return 0
        sleep 0.1
    done
    echo "BGSAVE on port $1 did not finish in 120 s" >&2; return 1
}

echo
echo "## restart: $KEYS keys x 100 bytes loaded by redis-cli --pipe (appendfsync everysec), SIGKILL, restart;" \
    "median of $RUNS restarts, alternating"

# Our node: load, let the automatic snapshot (if any) finish and everysec force the tail, SIGKILL.
start_trellis t-load "$T_PORT" --appendonly yes --appendfsync everysec; pid=$STARTED_PID
wait_ping "$T_PORT"
t_load_ms=$(load "$T_PORT" trellis)
wait_quiet "$T_PORT"; sleep 2
kill9 "$pid"
cp -a "$TMP/t-load" "$TMP/t-log"
# Then BGSAVE on it, and SIGKILL again.
start_trellis t-load "$T_PORT" --appendonly yes --appendfsync everysec; pid=$STARTED_PID
wait_ping "$T_PORT" 120
bgsave_wait "$T_PORT"; sleep 2
kill9 "$pid"
cp -a "$TMP/t-load" "$TMP/t-snap"
rm -rf "$TMP/t-load"

# redis-server: the same, with its AOF; then BGSAVE for its RDB.
start_redis r-load "$R_PORT" --appendonly yes --appendfsync everysec; pid=$STARTED_PID
wait_ping "$R_PORT"
r_load_ms=$(load "$R_PORT" redis)
wait_quiet "$R_PORT"; sleep 2
bgsave_wait "$R_PORT"
kill9 "$pid"
mkdir -p "$TMP/r-aof" "$TMP/r-rdb"
cp -a "$TMP/r-load/appendonlydir" "$TMP/r-aof/"
cp -a "$TMP/r-load/dump.rdb" "$TMP/r-rdb/"
rm -rf "$TMP/r-load"
echo "# load of $KEYS keys by redis-cli --pipe: trellis everysec ${t_load_ms} ms ($(awk -v k="$KEYS" -v t="$t_load_ms" \
    'BEGIN {printf "%.0f", k * 1000 / t}') keys/s), redis everysec ${r_load_ms} ms ($(awk -v k="$KEYS" -v t="$r_load_ms" \
    'BEGIN {printf "%.0f", k * 1000 / t}') keys/s)"

# The class-data archive bin/trellis gives a node (docs/BENCHMARKS.md, "Class-data sharing"), made the
# same way for the private jar: restarts run with it, as a user's do, and once more without it.
CDS_OPTS=
. bin/_jdk.sh
major=$(trellis_jdk_major "$(trellis_jdk_version "$JAVA_HOME")")
if [ "${major:-0}" -ge 19 ]; then
    quiet="-Xlog:cds*=off"; [ "$major" -ge 24 ] && quiet="$quiet -Xlog:aot*=off"
    # shellcheck disable=SC2086
    if "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS $quiet -XX:ArchiveClassesAtExit="$TMP/cds.jsa" \
            -cp "$JAR" io.trelliskv.node.ClassDataTraining >"$OUT/cds-training.log" 2>&1; then
        CDS_OPTS="$quiet -XX:SharedArchiveFile=$TMP/cds.jsa"
    else
        echo "# class-data training failed (see $OUT/cds-training.log): restarts without an archive"
    fi
fi

restart() { # case -> appends "ping_ms load_ms keys" to $OUT/restart-<case>.txt
    local c=$1 dir t0 ping_ms load_ms keys line
    case "$c" in trellis-*) dir="$TMP/t-run" ;; *) dir="$TMP/r-run" ;; esac
    rm -rf "$dir"
    case "$c" in
        trellis-log|trellis-log-nocds) cp -a "$TMP/t-log" "$dir" ;; trellis-snap) cp -a "$TMP/t-snap" "$dir" ;;
        redis-aof) cp -a "$TMP/r-aof" "$dir" ;; redis-rdb) cp -a "$TMP/r-rdb" "$dir" ;;
    esac
    : >"$OUT/restart-$c.log"
    t0=$(now_ms)
    case "$c" in
        trellis-*)
            # shellcheck disable=SC2086
            cds=$CDS_OPTS; [ "$c" = trellis-log-nocds ] && cds=
            "$JAVA" $TRELLIS_JAVA_OPTS $PLATFORM_OPTS $cds -cp "$JAR" io.trelliskv.node.Main \
                "$T_PORT" --data-dir "$dir" --appendonly yes --appendfsync everysec >"$OUT/restart-$c.log" 2>&1 &
            STARTED_PID=$!; PIDS+=("$STARTED_PID"); port=$T_PORT ;;
        redis-aof)
            redis-server --port "$R_PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes --daemonize no \
                --logfile "$(pwd)/$OUT/restart-$c.log" &
            STARTED_PID=$!; PIDS+=("$STARTED_PID"); port=$R_PORT ;;
        redis-rdb)
            redis-server --port "$R_PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no --daemonize no \
                --logfile "$(pwd)/$OUT/restart-$c.log" &
            STARTED_PID=$!; PIDS+=("$STARTED_PID"); port=$R_PORT ;;
    esac
    wait_ping "$port" 300
    ping_ms=$(( $(now_ms) - t0 ))
    keys=$(redis-cli -p "$port" dbsize)
    case "$c" in
        trellis-*)
            line=$(grep -m1 'loaded .* records' "$OUT/restart-$c.log")
            load_ms=$(echo "$line" | sed -n 's/.* in \([0-9]*\) ms;.*/\1/p')
            echo "$line" | sed 's/.*: loaded/loaded/' >"$OUT/restart-$c.split.txt" ;;
        redis-aof) load_ms=$(sed -n 's/.*DB loaded from append only file: \([0-9.]*\) seconds.*/\1/p' "$OUT/restart-$c.log" \
                | awk '{printf "%.0f", $1 * 1000}') ;;
        redis-rdb) load_ms=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$OUT/restart-$c.log" \
                | awk '{printf "%.0f", $1 * 1000}') ;;
    esac
    kill9 "$STARTED_PID"
    echo "$ping_ms ${load_ms:-0} $keys" >>"$OUT/restart-$c.txt"
}
CASES=(trellis-log redis-aof trellis-snap redis-rdb trellis-log-nocds)
for c in "${CASES[@]}"; do : >"$OUT/restart-$c.txt"; done
for _ in $(seq 1 "$RUNS"); do
    for c in "${CASES[@]}"; do restart "$c"; done
done
printf '\n%-28s | %10s %12s | %10s %12s | %9s | %s\n' "restart" "to PONG ms" "keys/s" "load ms" "keys/s" "keys" "vs redis (to PONG)"
rcol() { cut -d' ' -f"$2" "$OUT/restart-$1.txt" | median; }
for c in "${CASES[@]}"; do
    ping=$(rcol "$c" 1); lms=$(rcol "$c" 2); keys=$(rcol "$c" 3)
    vs=-
    case "$c" in trellis-log|trellis-log-nocds) vs=$(ratio "$(rcol redis-aof 1)" "$ping") ;; trellis-snap) vs=$(ratio "$(rcol redis-rdb 1)" "$ping") ;; esac
    label=$c
    case "$c" in
        trellis-log) label="trellis log (+auto snapshot)" ;; trellis-log-nocds) label="  the same, no class archive" ;; trellis-snap) label="trellis snapshot (BGSAVE)" ;;
        redis-aof) label="redis AOF (base + incr)" ;; redis-rdb) label="redis RDB (BGSAVE)" ;;
    esac
    printf '%-28s | %10s %12.0f | %10s %12.0f | %9s | %s\n' "$label" "$ping" "$(awk -v k="$KEYS" -v t="$ping" 'BEGIN {print k * 1000 / t}')" \
        "$lms" "$(awk -v k="$KEYS" -v t="$lms" 'BEGIN {print (t > 0 ? k * 1000 / t : 0)}')" "$keys" "$vs"
done
echo "# vs redis: redis's time to PONG / ours (above 1 is faster than redis)"
echo "# last restart, trellis log: $(cat "$OUT/restart-trellis-log.split.txt")"
echo "# last restart, trellis snapshot: $(cat "$OUT/restart-trellis-snap.split.txt")"
echo "# redis AOF files: $(cd "$TMP/r-aof/appendonlydir" && for f in *; do printf '%s %s B; ' "$f" "$(stat -c %s "$f")"; done)"

# --- part 3: disk bytes per key ---------------------------------------------------------------------------
du_b() { du -sb "$1" | cut -f1; }
sum_sizes() { local t=0; for f in "$@"; do [ -f "$f" ] && t=$((t + $(stat -c %s "$f"))); done; echo "$t"; }
log_bytes=$(sum_sizes "$TMP"/t-log/log/log-*.tkl)
log_records=$(sed -n 's/.*, \([0-9]*\) from [0-9]* log segments.*/\1/p' "$OUT/restart-trellis-log.split.txt")
newest_snap=$(ls "$TMP"/t-snap/log/snapshot-*.tks | sort | tail -n 1)
echo
echo "## disk bytes per key ($KEYS keys x 100-byte values)"
awk -v tl="$(du_b "$TMP/t-log")" -v lb="$log_bytes" -v lr="${log_records:-0}" -v ts="$(du_b "$TMP/t-snap")" \
    -v sn="$(stat -c %s "$newest_snap")" -v ra="$(du_b "$TMP/r-aof/appendonlydir")" -v rr="$(stat -c %s "$TMP/r-rdb/dump.rdb")" \
    -v resp="$(stat -c %s "$LOAD")" -v ns="$(ls "$TMP"/t-snap/log/snapshot-*.tks | wc -l)" -v k="$KEYS" 'BEGIN {
    printf "%-52s %8.1f B/key\n", "trellis data dir after the load (du)", tl / k
    printf "%-52s %8.1f B/record\n", "trellis log record (log bytes / log records)", (lr > 0 ? lb / lr : 0)
    printf "%-52s %8.1f B/key\n", "trellis snapshot (newest file)", sn / k
    printf "%-52s %8.1f B/key\n", "trellis data dir after BGSAVE (du; " ns " snapshots + log)", ts / k
    printf "%-52s %8.1f B/key\n", "redis appendonlydir after the load (du)", ra / k
    printf "%-52s %8.1f B/record\n", "redis AOF record (the SET in RESP)", resp / k
    printf "%-52s %8.1f B/key\n", "redis RDB (dump.rdb)", rr / k }'
