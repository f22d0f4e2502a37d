#!/usr/bin/env bash
# Compares Strom's Rust clients with librdkafka's own perf tool on one Strom broker, in the same
# run: `strom perf produce|consume` against `rdkafka_performance -P|-C`, with the same record
# size, acks, batch.size and linger.ms, each client against its own fresh one-partition topic
# (deleted after its round).
#
#   benches/kafka-compare/clients.sh                 # 3 rounds of 1,000,000 records
#   ROUNDS=5 N=300000 benches/kafka-compare/clients.sh
#
# Each round produces N SIZE-byte records with each client (the order swaps every round), then
# consumes each client's own topic from the beginning with the same client. Prints every run
# and a table of medians (records/s and client CPU seconds) with the Strom/librdkafka ratio.
# Throughput is each tool's own: produce from the first send to the last acknowledgement,
# consume from the first record received to the last. Both consumers verify batch CRCs (Strom's
# check.crcs default, as the Java client's; librdkafka's default is off, so it gets
# -X check.crcs=true).
#
# rdkafka_performance is librdkafka's examples/rdkafka_performance.c, built against the
# librdkafka 2.15.1 that scripts/compat/build-librdkafka-tests builds (the npm package it comes
# from carries no examples/, so the source is taken from RDKAFKA_PERFORMANCE_SRC, from
# ~/.cache/strom/rdkperf/examples/, or from a shallow clone of librdkafka's v2.15.0 tag; that
# file is unchanged from v2.15.0 to librdkafka's master of July 2026). It includes
# "../src/rd.h", so it is compiled from a directory whose ../src is librdkafka's src:
#
#   gcc -O2 -I<librdkafka>/src -o rdkafka_performance examples/rdkafka_performance.c \
#       -L<librdkafka>/src -lrdkafka -lpthread -lm -Wl,-rpath,<librdkafka>/src
#
# Environment: ROUNDS (3), N (1000000), SIZE (1024), ACKS (1), BATCH_SIZE (1000000), LINGER_MS
# (5), PORT (29192), STROM_THREADS (the strom tools' --threads, 1), STROM_BIN_DIR (a directory holding release `strom` and `strom-broker`;
# built with cargo otherwise), RDKAFKA_PERFORMANCE (a built binary), RDKAFKA_PERFORMANCE_SRC,
# KEEP_DATA=1 (keep the broker's data and logs). The broker started here is stopped by its PID.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N=${N:-1000000}
SIZE=${SIZE:-1024}
ACKS=${ACKS:-1}
BATCH_SIZE=${BATCH_SIZE:-1000000}
LINGER_MS=${LINGER_MS:-5}
PORT=${PORT:-29192}
STROM_THREADS=${STROM_THREADS:-1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${STROM_CACHE:-$HOME/.cache/strom}
work=$(mktemp -d /tmp/strom-clients-compare.XXXXXX)

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

broker_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_DATA:-0}" = 1 ]; then log "data and logs kept in $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Build ----------------------------------------------------------------------------------

if [ -n "${STROM_BIN_DIR:-}" ]; then
  bin=$STROM_BIN_DIR
else
  log "building strom-broker and strom (release)"
  (cd "$root" && cargo build --release --quiet -p strom-broker-bin -p strom-cli)
  bin=${CARGO_TARGET_DIR:-$root/target}/release
fi
for name in strom strom-broker; do
  [ -x "$bin/$name" ] || { log "no $name in $bin"; exit 1; }
done

if [ -n "${RDKAFKA_PERFORMANCE:-}" ]; then
  rdkperf=$RDKAFKA_PERFORMANCE
else
  tests=$("$root/scripts/compat/build-librdkafka-tests")
  rdk=$(cd "$tests/../src" && pwd)
  src=${RDKAFKA_PERFORMANCE_SRC:-$cache/rdkperf/examples/rdkafka_performance.c}
  if [ ! -f "$src" ]; then
    log "fetching examples/rdkafka_performance.c (librdkafka v2.15.0) into $cache/rdkperf"
    rm -rf "$cache/rdkperf/clone"
    git clone --quiet --depth 1 --branch v2.15.0 https://github.com/confluentinc/librdkafka \
      "$cache/rdkperf/clone"
    mkdir -p "$cache/rdkperf/examples"
    cp "$cache/rdkperf/clone/examples/rdkafka_performance.c" "$cache/rdkperf/examples/"
    src=$cache/rdkperf/examples/rdkafka_performance.c
  fi
  rdkperf=$cache/rdkperf/rdkafka_performance-$(sha256sum "$src" | cut -c1-16)
  if [ ! -x "$rdkperf" ]; then
    log "building $rdkperf"
    # The example includes "../src/rd.h": compile it from a directory whose ../src is librdkafka's.
    mkdir -p "$work/rdk/examples"
    ln -sfn "$rdk" "$work/rdk/src"
    cp "$src" "$work/rdk/examples/rdkafka_performance.c"
    gcc -O2 -I"$rdk" -o "$rdkperf.tmp" "$work/rdk/examples/rdkafka_performance.c" \
      -L"$rdk" -lrdkafka -lpthread -lm -Wl,-rpath,"$rdk"
    mv "$rdkperf.tmp" "$rdkperf"
  fi
fi

# --- Broker ---------------------------------------------------------------------------------

RUST_LOG=warn "$bin/strom-broker" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "log.dirs=$work/data" --override num.partitions=1 >"$work/broker.out" 2>&1 &
broker_pid=$!
deadline=$((SECONDS + 60))
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { log "the broker does not listen on $PORT"; exit 1; }
  sleep 0.2
done
bootstrap=127.0.0.1:$PORT
strom=("$bin/strom" --bootstrap-server "$bootstrap")

# --- Measure --------------------------------------------------------------------------------

results=$work/results.tsv
: >"$results"

# Runs a client ("$@"), its stdout to $work/out and stderr appended to $work/client.err; sets
# `cpu` to the CPU seconds it used (user + system, all its threads).
timed() {
  local TIMEFORMAT=%U+%S times
  times=$({ time "$@" >"$work/out" 2>>"$work/client.err"; } 2>&1) || {
    log "failed ($?): $* (see $work/client.err; KEEP_DATA=1 keeps it)"
    exit 1
  }
  cpu=$(awk "BEGIN { print $times }")
}

# Appends "client test records_per_s cpu_s" to the results and logs it.
note() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"
  log "$1 $2: $3 rec/s, client cpu $4 s"
}

run_strom() { # round
  local topic=strom-$1
  "${strom[@]}" topics create --topic "$topic" --partitions 1 >/dev/null
  timed "${strom[@]}" --output json perf produce --topic "$topic" --num-records "$N" \
    --record-size "$SIZE" --acks "$ACKS" --batch-size "$BATCH_SIZE" --linger-ms "$LINGER_MS" \
    --reporting-interval-ms 60000 --threads "$STROM_THREADS"
  note strom produce "$(jq -r '.records_per_sec | floor' "$work/out")" "$cpu"
  timed "${strom[@]}" --output json perf consume --topic "$topic" --messages "$N" \
    --reporting-interval-ms 60000 --threads "$STROM_THREADS"
  note strom consume "$(jq -r '.records_per_sec | floor' "$work/out")" "$cpu"
  "${strom[@]}" topics delete --topic "$topic" >/dev/null
}

run_rdkafka() { # round
  local topic=rdkafka-$1 out
  "${strom[@]}" topics create --topic "$topic" --partitions 1 >/dev/null
  timed "$rdkperf" -P -t "$topic" -p 0 -b "$bootstrap" -s "$SIZE" -c "$N" -a "$ACKS" \
    -X "batch.size=$BATCH_SIZE" -X "linger.ms=$LINGER_MS" -i 60000
  # Summary line: "% N messages produced (..), N delivered (..) in Tms: R msgs/s and .."
  out=$(grep 'messages produced' "$work/out" | tail -1)
  [[ $out =~ delivered\ .*:\ ([0-9]+)\ msgs/s ]] || { log "rdkafka_performance -P: $out"; exit 1; }
  note rdkafka produce "${BASH_REMATCH[1]}" "$cpu"
  timed "$rdkperf" -C -t "$topic" -p 0 -b "$bootstrap" -o beginning -c "$N" -i 60000 \
    -X check.crcs=true
  # Summary line: "% N messages (B bytes) consumed in Tms: R msgs/s (.. MB/s)"
  out=$(grep 'consumed in' "$work/out" | tail -1)
  [[ $out =~ consumed\ in\ [0-9]+ms:\ ([0-9]+)\ msgs/s ]] || {
    log "rdkafka_performance -C: $out"
    exit 1
  }
  note rdkafka consume "${BASH_REMATCH[1]}" "$cpu"
  "${strom[@]}" topics delete --topic "$topic" >/dev/null
}

log "broker on $bootstrap (data in $work); $ROUNDS rounds of $N $SIZE-byte records, acks=$ACKS," \
  "batch.size=$BATCH_SIZE, linger.ms=$LINGER_MS"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then order=(strom rdkafka); else order=(rdkafka strom); fi
  for client in "${order[@]}"; do
    "run_$client" "$round"
    sleep 1
  done
done

# --- Report ---------------------------------------------------------------------------------

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
column() { # client test field
  awk -v c="$1" -v t="$2" -v f="$3" '$1 == c && $2 == t { print $f }' "$results"
}
printf '\n%-8s %12s %12s %6s %10s %10s   %s\n' test strom rdkafka ratio "strom cpu" \
  "rdk cpu" "runs, rec/s (strom | rdkafka)"
for test in produce consume; do
  s=$(column strom "$test" 3 | median)
  r=$(column rdkafka "$test" 3 | median)
  printf '%-8s %12.0f %12.0f %6.2f %9.2fs %9.2fs   %s| %s\n' "$test" "$s" "$r" \
    "$(awk -v s="$s" -v r="$r" 'BEGIN { print s / r }')" \
    "$(column strom "$test" 4 | median)" "$(column rdkafka "$test" 4 | median)" \
    "$(column strom "$test" 3 | tr '\n' ' ')" "$(column rdkafka "$test" 3 | tr '\n' ' ')"
done
printf '\nrecords/s and client CPU seconds per run, medians of %s rounds of %s %s-byte records\n' \
  "$ROUNDS" "$N" "$SIZE"
printf '(one partition, acks=%s, batch.size=%s, linger.ms=%s, strom --threads %s; ratio = strom / rdkafka)\n' \
  "$ACKS" "$BATCH_SIZE" "$LINGER_MS" "$STROM_THREADS"
