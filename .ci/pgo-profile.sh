#!/usr/bin/env bash
# Makes cmd/tes/default.pgo, the CPU profile `go build` and `go run` use for
# profile-guided optimization of tes (Go does so on its own when the file is
# in the main package's directory; -pgo=off builds without it).
#
# It builds tes without a profile, runs `tes serve --pprof` on a fresh data
# directory under two loads, and merges a 20 s CPU profile of each:
#   - 64 devices running DEMO TOPUPs (the load of BENCHMARKS.md's figures);
#   - 16 devices running a mix of every operation, so that the paths TOPUP
#     does not take are in the profile too.
# Run it again when the request path changes much; a stale profile still
# builds, it only optimizes less.
#
#   .ci/pgo-profile.sh            (from the repository's root; loopback ports 18080/18081)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/tes-pgo.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -pgo=off -o "$work/tes" ./cmd/tes

profile() { # NAME BENCH-ARGS...
  local name=$1
  shift
  mkdir "$work/$name"
  "$work/tes" serve --addr 127.0.0.1:18080 --admin-addr 127.0.0.1:18081 --data "$work/$name" --log-level error --pprof >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.1; done
  "$work/tes" bench --url http://127.0.0.1:18080 --admin-url http://127.0.0.1:18081 --duration 24s "$@" >"$work/$name.txt" 2>&1 &
  local bench=$!
  sleep 2
  curl -sf -o "$work/$name.prof" 'http://127.0.0.1:18081/debug/pprof/profile?seconds=20'
  wait "$bench"
  grep -q 'errors: none' "$work/$name.txt" || { cat "$work/$name.txt" >&2; exit 1; }
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

profile topup --devices 64
profile mix --devices 16 --mix TOPUP=3,READ=1,REFUND=1,PARK=1,READER_MODE=1
go tool pprof -proto "$work/topup.prof" "$work/mix.prof" >cmd/tes/default.pgo
echo "wrote cmd/tes/default.pgo ($(wc -c <cmd/tes/default.pgo) bytes)"
