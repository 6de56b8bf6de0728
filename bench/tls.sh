#!/usr/bin/env bash
# The cost of TLS and of ACL checks, beside redis-server, in one run: redis-benchmark SET and GET at -P 1
# and -P 16, plain and over TLS (server certificate from a throwaway CA, clients present certificates),
# against redis-server 7.0 (--tls-port) and a node (--tls-port); then the node again with a password and
# an ACL user restricted to a key pattern (every command checked) against the default user. Besides ops/s, the
# CPU per request of each server process (/proc) and of the load generator (its rusage), plain and over TLS:
# on a machine whose cores the load generator shares, its TLS work bounds the TLS/plain throughput ratio.
#
#   bench/tls.sh
#   ROUNDS=5 REQUESTS=500000 bench/tls.sh
#
# Environment: ROUNDS (median reported; default 3), REQUESTS (default 300000), CLIENTS (default 50),
# KEYSPACE (default 1000000), JIT_SETTLE (most warm-up rounds; default 10), JAVA_HOME, TRELLIS_JAVA_OPTS,
# SKIP_TLS=1 (the ACL part only). Output: a table on stdout; logs in bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-1000000}
OUT=bench/out
mkdir -p "$OUT"
export JAVA_HOME
bench_tmp

# A CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256, PKCS#8 keys).
C="$TMP/certs"
bench_certs "$C" 2
TLS_ARGS=(--tls --cacert "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")

wait_port() { # port [redis-cli args...]: until it answers anything to PING
    local port=$1; shift
    for _ in $(seq 1 300); do
        redis-cli -p "$port" "$@" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "nothing answers on port $port" >&2; return 1
}

R_PORT=$(free_port); R_TLS=$(free_port); T_PORT=$(free_port); T_TLS=$(free_port)
redis-server --port "$R_PORT" --tls-port "$R_TLS" --bind 127.0.0.1 --save '' --appendonly no \
    --tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key" --tls-ca-cert-file "$C/ca.crt" \
    --logfile "$OUT/redis-tls.log" &
R_PID=$!; PIDS+=("$R_PID")
bin/trellis "$T_PORT" --data-dir "$TMP/data" --appendonly no --tls-port "$T_TLS" \
    --tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key" --tls-ca-cert-file "$C/ca.crt" \
    >"$OUT/trellis-tls.log" 2>&1 &
T_PID=$!; PIDS+=("$T_PID")
wait_port "$R_PORT"; wait_port "$T_PORT"

bench_header "redis $(redis-server --version | cut -d' ' -f3); TLS engine: $(grep -o 'over TLS on [^(]*(\([^;]*\)' "$OUT/trellis-tls.log" | sed 's/.*(//' | tr -d ')')"
echo "# redis-benchmark -c $CLIENTS -n $REQUESTS -d 100 -r $KEYSPACE, median of $ROUNDS rounds"

run() { # port pipeline test [extra args] -> ops/s
    local port=$1 p=$2 t=$3; shift 3
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$REQUESTS" -d 100 -r "$KEYSPACE" -P "$p" -t "$t" \
        --csv "$@" 2>/dev/null | tail -n 1 | tr -d '"' | cut -d, -f2
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
HZ=$(getconf CLK_TCK)
measure() { # label server-pid port pipeline test [extra] -> median ops/s; also appends the round's CPU figures
    local f="$OUT/tls-$1-$4-$5" pid=$2 a b t ja jb; : >"$f"; : >"$f.server"; : >"$f.client"; : >"$f.jit"
    shift 2
    for _ in $(seq 1 "$ROUNDS"); do
        a=$(cpu_ticks "$pid"); ja=$(jit_ticks "$pid")
        # `times` in the subshell: its children's user and system CPU (redis-benchmark's, the load generator)
        t=$( { run "$@" >>"$f"; times; } | tail -n 1)
        b=$(cpu_ticks "$pid"); jb=$(jit_ticks "$pid")
        awk -v d=$((b - a)) -v hz="$HZ" -v n="$REQUESTS" 'BEGIN { printf "%.2f\n", d * 1e6 / hz / n }' >>"$f.server"
        awk -v d=$((jb > ja ? jb - ja : 0)) -v hz="$HZ" -v n="$REQUESTS" 'BEGIN { printf "%.2f\n", d * 1e6 / hz / n }' >>"$f.jit"
        echo "$t" | awk -v n="$REQUESTS" '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
            printf "%.2f\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e6 / n }' >>"$f.client"
    done
    median <"$f"
}
cpu() { # label pipeline test -> "server client jit" medians of the rounds' CPU, in microseconds per request: the
    # server's, the load generator's, and of the server's the JIT compilers' (0 for redis-server)
    echo "$(median <"$OUT/tls-$1-$2-$3.server") $(median <"$OUT/tls-$1-$2-$3.client") $(median <"$OUT/tls-$1-$2-$3.jit")"
}

# Warm the node's JIT up, plain and TLS.
warm_round() { # plain-port tls-port: SETs and GETs at -P 16 and -P 1, plain then over TLS
    local port=$1 tls=$2 P
    for P in 16 1; do
        redis-benchmark -p "$port" -c "$CLIENTS" -n $((P == 16 ? 200000 : 50000)) -r "$KEYSPACE" -d 100 -P "$P" \
            -t set,get -q >/dev/null
        redis-benchmark -p "$tls" "${TLS_ARGS[@]}" -c "$CLIENTS" -n $((P == 16 ? 200000 : 50000)) -r "$KEYSPACE" -d 100 \
            -P "$P" -t set,get -q >/dev/null
    done
}
# The node is warmed until its JIT settled (see jit_settle in bench/lib.sh), so that no measured round pays for
# compiling; redis-server gets one round of the same load, so that both start with their key spaces filled.
jit_settle "$T_PID" warm_round "$T_PORT" "$T_TLS"
warm_round "$R_PORT" "$R_TLS"
echo "# warm-up: $SETTLED rounds until the node's JIT compilers took under 2 % of its CPU in one"

printf '\n%-5s %-3s | %11s %11s | %11s %11s | %9s %9s\n' test P "redis" "redis TLS" "trellis" "trellis TLS" \
    "TLS/plain" "vs redis"
for P in $([ "${SKIP_TLS:-}" = 1 ] || echo 1 16); do
    for T in set get; do
        rp=$(measure rp "$R_PID" "$R_PORT" "$P" "$T"); rt=$(measure rt "$R_PID" "$R_TLS" "$P" "$T" "${TLS_ARGS[@]}")
        tp=$(measure tp "$T_PID" "$T_PORT" "$P" "$T"); tt=$(measure tt "$T_PID" "$T_TLS" "$P" "$T" "${TLS_ARGS[@]}")
        printf '%-5s %-3s | %11.0f %11.0f | %11.0f %11.0f | %8.2fx %8.2fx\n' "$T" "$P" "$rp" "$rt" "$tp" "$tt" \
            "$(awk -v a="$tt" -v b="$tp" 'BEGIN {print a / b}')" "$(awk -v a="$tt" -v b="$rt" 'BEGIN {print a / b}')"
    done
done

# Where the TLS/plain throughput ratio comes from: on a small machine the load generator shares the cores, and
# its own TLS work costs about as much as the server's, so the ratio is the two processes' CPU together.
if [ "${SKIP_TLS:-}" != 1 ]; then
    printf '\nCPU per request, microseconds (median of the rounds): each server process, and the load generator\n'
    printf '%-5s %-3s | %7s %7s %6s | %7s %7s %6s | %-19s | %-17s\n' test P "redis" "TLS" "extra" "trellis" "TLS" "extra" \
        "load gen plain/TLS" "of trellis: JIT"
    for P in 1 16; do
        for T in set get; do
            read -r rps _ _ < <(cpu rp "$P" "$T"); read -r rts _ _ < <(cpu rt "$P" "$T")
            read -r tps tpc tpj < <(cpu tp "$P" "$T"); read -r tts ttc ttj < <(cpu tt "$P" "$T")
            printf '%-5s %-3s | %7.2f %7.2f %6.2f | %7.2f %7.2f %6.2f | %8.2f %8.2f | %7.2f %7.2f\n' "$T" "$P" "$rps" "$rts" \
                "$(awk -v a="$rts" -v b="$rps" 'BEGIN {print a - b}')" "$tps" "$tts" \
                "$(awk -v a="$tts" -v b="$tps" 'BEGIN {print a - b}')" "$tpc" "$ttc" "$tpj" "$ttj"
        done
    done
fi

# ACL cost: the default user (no checks) against a user whose every command and key is checked, their
# rounds alternating, and the ratio taken per pair of rounds (a difference of a few percent is the aim,
# less than the drift of a noisy machine between rounds): of the throughput, and of the node's CPU per request,
# which the load generator's share of the cores does not move.
redis-cli -p "$T_PORT" ACL SETUSER bench on '>benchpw' '~key:*' '+@all' >/dev/null
acl_round() { # file pipeline test [extra]: one round's ops/s to file, the node's CPU per request (µs) to file.cpu
    local f=$1 a b; shift
    a=$(cpu_ticks "$T_PID")
    run "$T_PORT" "$@" >>"$f"
    b=$(cpu_ticks "$T_PID")
    awk -v d=$((b - a)) -v hz="$HZ" -v n="$REQUESTS" 'BEGIN { printf "%.3f\n", d * 1e6 / hz / n }' >>"$f.cpu"
}
printf '\n%-5s %-3s | %13s %13s | %7s | %-23s | %7s\n' test P "default user" "ACL user" ratio \
    "node CPU µs/req def/ACL" "ratio"
for P in 1 16; do
    for T in set get; do
        fd="$OUT/tls-default-$P-$T"; fa="$OUT/tls-acl-$P-$T"; : >"$fd"; : >"$fa"; : >"$fd.cpu"; : >"$fa.cpu"
        for _ in $(seq 1 "$ROUNDS"); do
            acl_round "$fd" "$P" "$T"; acl_round "$fa" "$P" "$T" --user bench -a benchpw
        done
        d=$(median <"$fd"); a=$(median <"$fa")
        # the ratios are the medians of each round's pair, which the machine's drift between rounds does not move
        r=$(paste -d' ' "$fa" "$fd" | awk '{ print $1 / $2 }' | median)
        rc=$(paste -d' ' "$fa.cpu" "$fd.cpu" | awk '$2 > 0 { print $1 / $2 }' | median)
        printf '%-5s %-3s | %13.0f %13.0f | %6.3fx | %11.2f %11.2f | %6.3fx\n' "$T" "$P" "$d" "$a" "$r" \
            "$(median <"$fd.cpu")" "$(median <"$fa.cpu")" "$rc"
    done
done
