#!/usr/bin/env bash
# Figures of BENCHMARKS.md "several nodes": DEMO TOPUPs with tes bench against
#   1. one node on PostgreSQL,
#   2. two nodes on PostgreSQL, each request to the next node (round robin),
#   3. one node on bbolt,
# in one run, each a separate `tes serve` process, with the CPU of the nodes
# and of PostgreSQL (postmaster and backends, from /proc) per round trip.
#
#   .ci/bench-nodes.sh [DEVICES [DURATION]]     (default 16 devices, 10s)
#
# Uses the cluster of TES_TEST_POSTGRES/TES_PG_DIR when set (. .ci/postgres.sh
# start), else starts and stops its own. Loopback only; each server is
# stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-16}
duration=${2:-10s}

work=$(mktemp -d "${TMPDIR:-/tmp}/tes-bench-nodes.XXXXXX")
pids=()
own_cluster=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$own_cluster" = 1 ]; then . .ci/postgres.sh stop; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${TES_TEST_POSTGRES:-}" ] || [ -z "${TES_PG_DIR:-}" ]; then
  . .ci/postgres.sh start
  own_cluster=1
fi
postmaster=$(head -n 1 "$TES_PG_DIR/data/postmaster.pid")
base=${TES_TEST_POSTGRES%%\?*}
base=${base%/*}

go build -o "$work/tes" ./cmd/tes
mkdir -p "$work/no-issuers-here"

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

# serve NAME [tes serve flags…]: starts a node, waits for /readyz, and sets
# GW, ADMIN and PID.
serve() {
  local name=$1; shift
  local gw admin
  gw=127.0.0.1:$(free_port)
  admin=127.0.0.1:$(free_port)
  TES_ISSUERS= "$work/tes" serve --addr "$gw" --admin-addr "$admin" --log-level warn "$@" 2>"$work/$name.log" &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 1 200); do
    if curl -fsS "http://$admin/readyz" >/dev/null 2>&1; then
      GW=http://$gw ADMIN=http://$admin
      return
    fi
    sleep 0.05
  done
  cat "$work/$name.log" >&2
  return 1
}

database() {
  local name=tes_bench_$1_$RANDOM
  psql -qX "$TES_TEST_POSTGRES" -c "CREATE DATABASE $name" >/dev/null
  echo "$base/$name?sslmode=disable"
}

bench() {
  "$work/tes" bench --devices "$devices" --duration "$duration" --operation TOPUP "$@"
}

echo "== one node on PostgreSQL"
url=$(database one)
serve pg1 --store "$url"
bench --url "$GW" --admin-url "$ADMIN" --server-pid "$PID" --postgres-pid "$postmaster"
kill "$PID"

echo "== two nodes on PostgreSQL, requests round robin"
url=$(database two)
serve pg2a --store "$url"
gw1=$GW admin1=$ADMIN pid1=$PID
serve pg2b --store "$url"
bench --url "$gw1,$GW" --admin-url "$admin1" --server-pid "$pid1,$PID" --postgres-pid "$postmaster"
kill "$pid1" "$PID"

echo "== one node on bbolt"
mkdir -p "$work/data"
serve bolt --data "$work/data"
bench --url "$GW" --admin-url "$ADMIN" --server-pid "$PID" --postgres-pid "$postmaster"
kill "$PID"
