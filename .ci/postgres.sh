# A private PostgreSQL cluster for the tests: source this file.
#
#   . .ci/postgres.sh start   # initdb in a temporary directory, start on a free
#                             # port of 127.0.0.1, export TES_TEST_POSTGRES
#   go test -race -pgo=off ./...   # the PostgreSQL tests now run instead of skipping
#   . .ci/postgres.sh stop    # stop the cluster and remove its directory
#
# The cluster listens on 127.0.0.1 only, keeps its socket in its own
# directory and trusts local connections: it is for tests, never for data.
# As root it runs as the unprivileged user "postgres" (initdb refuses root);
# otherwise as the calling user. It needs Debian's postgresql package (or
# PG_BIN pointing at initdb and pg_ctl). A system cluster on 5432, if the
# package started one, is left alone.
#
# Exports: TES_TEST_POSTGRES (the URL the tests read), TES_PG_DIR (the
# cluster's directory) and PG_BIN; stop reads them.

tes_pg_run() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

tes_pg_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    # A refused connection means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

tes_pg_start() {
  if [ -z "${PG_BIN:-}" ]; then
    local version
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
      echo "postgres.sh: no /usr/lib/postgresql/*; install Debian's postgresql package" >&2
      return 1
    fi
    PG_BIN=/usr/lib/postgresql/$version/bin
  fi
  export PG_BIN
  TES_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tes-pg.XXXXXX")
  export TES_PG_DIR
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$TES_PG_DIR"
  fi
  tes_pg_run "$PG_BIN/initdb" -D "$TES_PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$TES_PG_DIR/initdb.log" 2>&1 || {
    cat "$TES_PG_DIR/initdb.log" >&2
    return 1
  }
  local port tries=0
  while :; do
    port=$(tes_pg_free_port) || { echo "postgres.sh: no free port" >&2; return 1; }
    if tes_pg_run "$PG_BIN/pg_ctl" -D "$TES_PG_DIR/data" -l "$TES_PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $TES_PG_DIR -c max_connections=400 ${TES_PG_OPTIONS:-}" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      cat "$TES_PG_DIR/server.log" >&2
      return 1
    fi
  done
  export TES_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "postgres.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $TES_PG_DIR"
  echo "postgres.sh: TES_TEST_POSTGRES=$TES_TEST_POSTGRES"
}

tes_pg_stop() {
  if [ -z "${TES_PG_DIR:-}" ] || [ ! -d "$TES_PG_DIR" ]; then
    return 0
  fi
  tes_pg_run "$PG_BIN/pg_ctl" -D "$TES_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$TES_PG_DIR"
  unset TES_TEST_POSTGRES TES_PG_DIR
}

case "${1:-}" in
  start) tes_pg_start ;;
  stop) tes_pg_stop ;;
  *) echo "usage: . .ci/postgres.sh start|stop" >&2; false ;;
esac
