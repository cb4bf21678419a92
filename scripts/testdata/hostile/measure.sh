#!/usr/bin/env bash
# Measures containment against the real server (BENCHMARKS.md, "containment"):
# tes serve with DEMO and the hostile EVIL issuer, every EVIL operation sent 4
# at once, then the server's CPU ticks (10 ms) in the 100 ms and the 900 ms
# after the replies, its RSS, and its peak RSS at the end.
#   scripts/testdata/hostile/measure.sh [TES_BINARY]
set -u
repo=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/tes
  (cd "$repo" && go build -o "$bin" ./cmd/tes) || exit 1
fi
work=$(mktemp -d)
mkdir -p "$work/issuers"
cp -r "$repo/issuers/DEMO" "$repo/scripts/testdata/hostile/EVIL" "$work/issuers/"
"$bin" serve --addr 127.0.0.1:19080 --admin-addr 127.0.0.1:19081 --data "$work/data" \
  --issuers "$work/issuers" --log-level error 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -s 127.0.0.1:19081/readyz >/dev/null && break; sleep 0.1; done
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
for op in $(grep -- '- name:' "$work/issuers/EVIL/issuer.yaml" | awk '{print $3}'); do
  pids=()
  for k in 1 2 3 4; do
    curl -s -H 'x-actor-id: t' -H 'content-type: application/json' \
      -d "{\"issuerId\":\"EVIL\",\"cardId\":\"C-$op-$k\",\"deviceId\":\"D-$op-$k\",\"operation\":\"$op\"}" \
      127.0.0.1:19080/tes/devicegtwapi/1/0/getCardCommands | grep -o '"statusCode":[0-9]*' | tr '\n' ' ' &
    pids+=($!)
  done
  wait "${pids[@]}"
  c0=$(cpu); sleep 0.1; c1=$(cpu); sleep 0.9; c2=$(cpu)
  echo " $op: CPU ticks in the 100 ms after: $((c1 - c0)), in the next 900 ms: $((c2 - c1)); RSS $(awk '/VmRSS/ {print $2/1024}' "/proc/$pid/status") MiB"
done
echo "peak RSS: $(awk '/VmHWM/ {print $2/1024}' "/proc/$pid/status") MiB"
curl -s 127.0.0.1:19081/admin/v1/issuers; echo
