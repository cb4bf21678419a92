#!/usr/bin/env bash
# Before/after figures of BENCHMARKS.md "issue 11": for each tes binary given,
# in the order given (repeat them to interleave: A B A B), a fresh
# `tes serve` on a new data directory and one `tes bench` of DEMO TOPUPs
# against it; prints round trips/s, latency, the server's CPU per round trip,
# its peak RSS and the bytes it had written to disk per round trip
# (/proc/PID/io write_bytes).
#
#   .ci/bench-ab.sh DEVICES DURATION BINARY...
#   e.g. git worktree add /tmp/before REV && (cd /tmp/before && go build -o /tmp/tes-before ./cmd/tes)
#        go build -o /tmp/tes-after ./cmd/tes
#        .ci/bench-ab.sh 64 10s /tmp/tes-before /tmp/tes-after /tmp/tes-before /tmp/tes-after
#
# Loopback only (ports 18080/18081); each server is stopped after its run.
set -euo pipefail
devices=$1
duration=$2
shift 2
pid=
work=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
written() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }

for bin in "$@"; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/tes-bench-ab.XXXXXX")
  "$bin" serve --addr 127.0.0.1:18080 --admin-addr 127.0.0.1:18081 --data "$work" --log-level warn >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.1; done
  before=$(written "$pid")
  out=$("$bin" bench --url http://127.0.0.1:18080 --admin-url http://127.0.0.1:18081 \
    --devices "$devices" --duration "$duration" --server-pid "$pid" 2>&1)
  after=$(written "$pid")
  requests=$(grep -o '[0-9]* requests' <<<"$out" | head -1 | cut -d' ' -f1)
  echo "$bin, $devices devices: $(grep -o '[0-9.]* round trips/s' <<<"$out" | head -1)" \
    "| $(grep -o 'p50.*max [0-9.]* ms' <<<"$out" | head -1)" \
    "| CPU $(grep -o 'per round trip [0-9]* µs' <<<"$out")" \
    "| $(grep -o 'peak [0-9.]* MiB' <<<"$out")" \
    "| disk $(( (after - before) / requests )) B per round trip" \
    "| $(grep -o 'errors: .*' <<<"$out" | head -1)"
  cleanup
  pid=
  work=
done
