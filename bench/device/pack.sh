#!/usr/bin/env bash
# Packs what bench/device/run.sh needs on a machine that has neither a JDK nor Redis (the many-core machine
# that is sometimes lent for scaling checks) into one file, bench/out/device/bundle.tgz:
#
#   jrt/      a Java runtime made with jlink from this machine's JDK (the modules a node uses, debug symbols
#             stripped), so the node runs there on the JDK it runs on here
#   app/      target/trelliskv.jar and the libraries beside it (target/lib, native ones for linux-x86_64 only)
#   redis/    redis-server, redis-benchmark and redis-cli, with every shared library they load but glibc's
#             own in redis/lib (run.sh sets LD_LIBRARY_PATH)
#   ap/       async-profiler's library (as bench/profile.sh fetches it), for a CPU profile of the entry node
#   certs/    a CA, a server and a client certificate (EC P-256, for 127.0.0.1, valid 30 days: pack in the
#             session that runs it) for the TLS part, as bench/tls.sh makes them
#   VERSION   the commit and the date it was packed
#
#   bench/device/pack.sh      # then, with the device tool: carry bench/out/device, run `bash bench/device/run.sh`
#
# The bundle must leave room for the working tree within what travels to the device (64 MiB together); the
# script refuses to leave one over 48 MiB. Needs a JDK with jlink (JAVA_HOME, or the one bin/trellis picks:
# the newest 21+), redis-server and redis-benchmark installed here, and python3 to unpack async-profiler.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib.sh # JAVA_HOME (as bin/trellis picks a JDK, unless set), bench_certs
[ -x "${JAVA_HOME:-}/bin/jlink" ] || { echo "pack.sh: no jlink: set JAVA_HOME to a JDK 21 or newer" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli ldd openssl; do
    command -v "$tool" >/dev/null || { echo "pack.sh: $tool is not installed (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

OUT=bench/out/device
STAGE=$OUT/stage
rm -rf "$STAGE" "$OUT/bundle.tgz"
mkdir -p "$STAGE/app/lib" "$STAGE/redis/lib" "$STAGE/ap"

# The jar of these sources: built when missing or older than any of them, as bin/trellis does.
if [ ! -f target/trelliskv.jar ] || [ ! -d target/lib ] \
    || [ -n "$(find src/main pom.xml -newer target/trelliskv.jar -print -quit)" ]; then
    ./mvnw -B -q -DskipTests package
fi
cp target/trelliskv.jar "$STAGE/app/"
for jar in target/lib/*.jar; do
    case "$jar" in
        *-linux-aarch_64.jar | *-osx-*.jar | *-windows-*.jar) ;; # natives for other platforms: not needed there
        *) cp "$jar" "$STAGE/app/lib/" ;;
    esac
done

# java.management and jdk.management: the node reads and sets SoftMaxHeapSize through HotSpotDiagnosticMXBean;
# java.naming and java.xml: Logback; jdk.unsupported: Netty's sun.misc.Unsafe.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported,jdk.management \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$STAGE/jrt"
if command -v strip >/dev/null; then
    strip --strip-unneeded "$STAGE/jrt/lib/server/libjvm.so"
fi

# redis-server is installed as a link to redis-check-rdb, which acts by the name it is started under.
cp "$(readlink -f "$(command -v redis-server)")" "$STAGE/redis/redis-server"
cp "$(command -v redis-benchmark)" "$(command -v redis-cli)" "$STAGE/redis/"
ldd "$STAGE/redis/redis-server" "$STAGE/redis/redis-benchmark" "$STAGE/redis/redis-cli" \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) ;; # glibc: the machine's own
        *) cp -L "$lib" "$STAGE/redis/lib/" ;;
    esac
done

AP_VERSION=4.2
AP=bench/out/profile/async-profiler-$AP_VERSION/libasyncProfiler.so
if [ ! -f "$AP" ]; then
    ./mvnw -B -q dependency:copy -Dartifact="tools.profiler:async-profiler:$AP_VERSION:jar:linux-x64" \
        -DoutputDirectory=bench/out/profile >&2
    mkdir -p "$(dirname "$AP")"
    python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("linux-x64/libasyncProfiler.so") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)' "bench/out/profile/async-profiler-$AP_VERSION-linux-x64.jar" "$AP"
fi
cp "$AP" "$STAGE/ap/"

C=$STAGE/certs
bench_certs "$C" 30
rm -f "$C"/*.csr "$C/ext" "$C/ca.key" "$C"/*.srl # what run.sh does not need

echo "trellis $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), packed $(date -u '+%Y-%m-%d %H:%M UTC') from $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1) and redis $(redis-server --version | cut -d' ' -f3)" \
    >"$STAGE/VERSION"
tar -C "$STAGE" -czf "$OUT/bundle.tgz" .
rm -rf "$STAGE"
size=$(stat -c %s "$OUT/bundle.tgz")
if [ "$size" -gt $((48 << 20)) ]; then
    echo "pack.sh: $OUT/bundle.tgz is $((size >> 20)) MiB, over 48 MiB: it would not travel beside the tree" >&2
    exit 1
fi
echo "$OUT/bundle.tgz: $((size >> 20)) MiB ($(tar -xzOf "$OUT/bundle.tgz" ./VERSION))"
echo "run it there with the device tool: carry [\"$OUT\"], command \"bash bench/device/run.sh\""
