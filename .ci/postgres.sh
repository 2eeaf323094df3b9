#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the storage tests (Debian package `postgresql`,
# installed when missing). Usage:
#   url=$(bash .ci/postgres.sh start DIR)   # prints postgresql://postgres@127.0.0.1:PORT/tge_test
#   bash .ci/postgres.sh stop DIR
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {  # initdb and postgres refuse to run as root
  # (from /, which the postgres user can enter whatever the caller's directory is)
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$cmd" in
  start)
    if [ -z "$(pg_bin)" ]; then
      echo "postgres.sh: installing the Debian package postgresql" >&2
      if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
      $sudo apt-get update -q >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >&2
    fi
    bin=$(pg_bin)
    mkdir -p "$dir"
    # the server's files live under /tmp, where the postgres user can reach them even when
    # DIR is inside a private directory (pytest's tmp dirs are mode 700)
    srv=$(mktemp -d /tmp/tge-pg.XXXXXX)
    echo "$srv" >"$dir/server-dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$srv"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$srv/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$srv/data" -l "$srv/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $srv -c fsync=off" start >&2
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tge_test
    echo "postgresql://postgres@127.0.0.1:$port/tge_test"
    ;;
  stop)
    bin=$(pg_bin)
    srv=$(cat "$dir/server-dir" 2>/dev/null || true)
    if [ -n "$bin" ] && [ -n "$srv" ] && [ -d "$srv/data" ]; then
      as_owner "$bin/pg_ctl" -D "$srv/data" -m fast -w stop >&2 || true
    fi
    if [ -n "$srv" ]; then rm -rf "$srv"; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
