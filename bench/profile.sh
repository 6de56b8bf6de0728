#!/usr/bin/env bash
# Where one node's CPU time or allocation goes while redis-benchmark sends pipelined SETs (or GETs), as async-profiler
# sees it (stack samples that name inlined methods, and allocation samples weighted by their bytes): the
# entry node of a 3-node cluster (--replication-factor 3, QUORUM, in memory only), one of its replicas, or a
# single node under the same load.
#
#   bench/profile.sh                                  # CPU of the entry node
#   EVENT=alloc TARGET=single bench/profile.sh        # bytes allocated per SET on a single node, by class
#   TARGET=replica FOCUS='ReplicaService.apply$' bench/profile.sh
#   TEST=get EVENT=alloc bench/profile.sh             # bytes allocated per coordinated GET on the entry node
#   LINES=1 bench/profile.sh                          # the entry node's heaviest source lines
#   TARGET=single bench/profile.sh; bench/profile-groups.py   # after an entry profile: what coordination adds, grouped
#
# The node is warmed up (WARMUP SETs, so the JIT has compiled the write path; for TEST=get, WARMUP GETs after them,
# of the keys the SETs wrote), then given rounds of REQUESTS of TEST until its JIT compilers took under 2 % of its
# CPU in one (at most JIT_SETTLE, default 10), then async-profiler is attached (jcmd JVMTI.agent_load) for REQUESTS
# of TEST.
# async-profiler comes from Maven Central
# (tools.profiler:async-profiler, the linux-x64 jar), fetched by ./mvnw into bench/out/profile/ on first use.
# Output: the collapsed stacks in bench/out/profile/EVENT-TARGET.txt (for flame graphs), and on stdout
# per 1,000 requests: for cpu, the ms of the heaviest frames (inclusive, then self) or the tree below the last
# frame matching FOCUS; for alloc, the bytes per request by class and by allocating site.
# With LINES=1 (cpu only): a JFR recording instead, bench/out/profile/cpu-TARGET.jfr (the JDK's `jfr` tool reads it),
# and on stdout the heaviest source lines of the samples' top frames, which a method's self time does not show: a
# wait for memory lands on the first instruction that needs the value, which may be in another method than the load.
#
# Environment: EVENT (cpu or alloc; default cpu), TARGET (entry, replica or single; default entry), TEST (set or
# get; default set), LINES (0 or 1; default 0), REQUESTS
# (default 1000000), WARMUP (default 3000000), PIPELINE (default 16), CLIENTS (default 50), KEYSPACE (default
# 100000), FOCUS (a regular expression over frames, cpu only), INTERVAL (CPU time between samples, default 200us), TOP (lines per table, default 30), JAVA_HOME,
# TRELLIS_JAVA_OPTS (default -XX:+UseZGC -XX:-ZProactive, as bin/trellis), JAR. Linux x86-64 only; needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

EVENT=${EVENT:-cpu}
TARGET=${TARGET:-entry}
TEST=${TEST:-set}
REQUESTS=${REQUESTS:-1000000}
WARMUP=${WARMUP:-3000000}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TOP=${TOP:-30}
AP_VERSION=4.2
case "$EVENT" in cpu|alloc) ;; *) echo "EVENT must be cpu or alloc, not '$EVENT'" >&2; exit 2 ;; esac
case "$TARGET" in entry|replica|single) ;; *) echo "TARGET must be entry, replica or single, not '$TARGET'" >&2; exit 2 ;; esac
case "$TEST" in set|get) ;; *) echo "TEST must be set or get, not '$TEST'" >&2; exit 2 ;; esac
LINES=${LINES:-0}
[ "$LINES" = 0 ] || [ "$EVENT" = cpu ] || { echo "LINES=1 is for EVENT=cpu" >&2; exit 2; }
CMD=$(echo "$TEST" | tr a-z A-Z)
# Attaching needs dynamic agent loading; exact frames of inlined code need DebugNonSafepoints.
TRELLIS_JAVA_OPTS="${TRELLIS_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive} -XX:+EnableDynamicAgentLoading -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints"
OUT=bench/out/profile
mkdir -p "$OUT"

LIB="$OUT/async-profiler-$AP_VERSION/libasyncProfiler.so"
if [ ! -f "$LIB" ]; then
    echo "fetching async-profiler $AP_VERSION from Maven Central..." >&2
    ./mvnw -B -q dependency:copy -Dartifact="tools.profiler:async-profiler:$AP_VERSION:jar:linux-x64" \
        -DoutputDirectory="$OUT" >&2
    mkdir -p "$(dirname "$LIB")"
    python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("linux-x64/libasyncProfiler.so") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$OUT/async-profiler-$AP_VERSION-linux-x64.jar" "$LIB"
fi
LIB=$(realpath "$LIB")

bench_jar
IPS=(127.0.0.92 127.0.0.93 127.0.0.94) # the cluster; a single node takes the first alone
PORT=$(free_port "${IPS[@]}")
[ -n "$PORT" ] || { echo "no port free on all addresses" >&2; exit 1; }

if [ "$TARGET" = single ]; then
    quorum_node "${IPS[0]}"; PROFILED=$STARTED_PID
else
    quorum_cluster "${IPS[@]}"
    PROFILED=${CLUSTER_PIDS[0]}; [ "$TARGET" = replica ] && PROFILED=${CLUSTER_PIDS[1]}
fi
bench_header "profiled: $TARGET node, $EVENT$JAR_NOTE"
load() { # requests [test] -> redis-benchmark's summary line
    redis-benchmark -h "${IPS[0]}" -p "$PORT" -c "$CLIENTS" -n "$1" -d 100 -r "$KEYSPACE" -P "$PIPELINE" -t "${2:-$TEST}" -q \
        | tr '\r' '\n' | grep "per second" | tail -n 1
}
load "$WARMUP" set >/dev/null
[ "$TEST" = set ] || load "$WARMUP" >/dev/null
# Then rounds of the measured load until the profiled node's JIT compilers took under 2 % of its CPU in one (see
# jit_settle in bench/lib.sh): a fixed warm-up left the compiler in up to a fifth of an entry node's samples.
settle_round() { load "$REQUESTS" >/dev/null; }
jit_settle "$PROFILED" settle_round
echo "# warm-up: $WARMUP SETs (and GETs for TEST=get), then $SETTLED rounds of $REQUESTS ${CMD}s until the JIT settled"
agent() { # async-profiler command; quoted so that jcmd passes it whole
    "$JAVA_HOME/bin/jcmd" "$PROFILED" JVMTI.agent_load "$LIB" "\"$1\"" >/dev/null
}
COLLAPSED="$OUT/$EVENT-$TARGET.txt"
if [ "$LINES" = 1 ]; then # a JFR recording, whose samples name the line of their top frame
    JFR="$(realpath "$OUT")/cpu-$TARGET.jfr"
    agent "start,jfr,file=$JFR,event=cpu,interval=${INTERVAL:-200us}"
    echo "# $(load "$REQUESTS") ($REQUESTS ${CMD}s, -P $PIPELINE, $CLIENTS clients, through ${IPS[0]})"
    agent "stop"
    "$JAVA_HOME/bin/jfr" print --json --stack-depth 16 --events jdk.ExecutionSample "$JFR" \
        | python3 -c '
import collections, json, re, sys
requests, interval, top, cmd = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = re.fullmatch(r"(\d+)(ns|us|ms|s)?", interval)
ns = int(m.group(1)) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[m.group(2) or "ns"]  # CPU time a sample stands for
lines = collections.Counter()
events = json.load(sys.stdin)["recording"]["events"]
for e in events:
    frames = e["values"]["stackTrace"]["frames"]
    if frames:
        first, ours = None, None
        for f in frames:  # the top frame, and the project frame it runs in when it is not one
            name = f["method"]["type"]["name"].split("/")[-1] + "." + f["method"]["name"]
            native = f.get("type") in ("Native", "Kernel", "C++")
            label = name if native else "%s:%s" % (name, f["lineNumber"])
            first = first or label
            if f["method"]["type"]["name"].startswith("io/trelliskv/"):
                ours = label
                break
        lines[first if ours in (None, first) else "%s  (in %s)" % (first, ours)] += 1
per = requests / 1000 * 1e6 / ns  # samples -> ms per 1,000 requests
print("# CPU ms per 1,000 %ss in samples: %.3f" % (cmd, len(events) / per))
print("## the heaviest lines (top frames, and the project frame they run in; native and kernel code by function)")
for k, v in lines.most_common(top):
    print("%7.3f  %5.1f%%  %s" % (v / per, 100 * v / len(events), k))
' "$REQUESTS" "${INTERVAL:-200us}" "$TOP" "$CMD"
    exit 0
fi
agent "start,event=$EVENT$([ "$EVENT" = cpu ] && echo ",interval=${INTERVAL:-200us}" || echo ',alloc=16k')"
echo "# $(load "$REQUESTS") ($REQUESTS ${CMD}s, -P $PIPELINE, $CLIENTS clients, through ${IPS[0]})"
agent "stop,collapsed,total,file=$(realpath "$OUT")/$EVENT-$TARGET.txt"

python3 - "$COLLAPSED" "$REQUESTS" "$EVENT" "${FOCUS:-}" "$TOP" "$CMD" <<'EOF'
import collections, re, sys
path, requests, event, focus, top, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
stacks = []
for line in open(path):
    stack, value = line.rstrip().rsplit(' ', 1)
    stacks.append(([re.sub(r'_\[[ijk]\]$', '', f) for f in stack.split(';')], int(value)))
total = sum(v for _, v in stacks)
if event == 'alloc':
    per = requests  # bytes per request
    by_class, by_site = collections.Counter(), collections.Counter()
    for frames, v in stacks:
        by_class[frames[-1]] += v
        site = ' <- '.join(f.split('/')[-1] for f in reversed(frames[-4:-1]))
        by_site[frames[-1] + '  <- ' + site] += v
    print('# bytes allocated per %s: %.0f' % (cmd, total / per))
    print('## by class'); [print('%8.1f  %s' % (v / per, k)) for k, v in by_class.most_common(top)]
    print('## by class and the three frames that allocate it'); [print('%8.1f  %s' % (v / per, k)) for k, v in by_site.most_common(top)]
    sys.exit()
per = 1e6 * requests / 1000  # ns of samples -> ms per 1,000 requests
print('# CPU ms per 1,000 %ss in samples: %.3f' % (cmd, total / per))
if focus:
    tree = {}
    def add(node, path, v):
        node['_'] = node.get('_', 0) + v
        if path:
            add(node.setdefault(path[0], {}), path[1:], v)
    for frames, v in stacks:
        hits = [i for i, f in enumerate(frames) if re.search(focus, f)]
        if hits:
            add(tree, frames[hits[-1] + 1:hits[-1] + 7], v)
    print('## below the last frame matching %r: %.3f' % (focus, tree.get('_', 0) / per))
    def show(node, depth):
        for k, c in sorted(((k, c) for k, c in node.items() if k != '_'), key=lambda kc: -kc[1]['_']):
            if c['_'] / per >= 0.01:
                print('%s%7.3f  %s' % ('  ' * depth, c['_'] / per, k)); show(c, depth + 1)
    show(tree, 0)
    sys.exit()
inclusive, own = collections.Counter(), collections.Counter()
for frames, v in stacks:
    own[frames[-1]] += v
    for f in set(frames):
        inclusive[f] += v
print('## inclusive'); [print('%7.3f  %s' % (v / per, k)) for k, v in inclusive.most_common(top)]
print('## self'); [print('%7.3f  %s' % (v / per, k)) for k, v in own.most_common(top)]
EOF
