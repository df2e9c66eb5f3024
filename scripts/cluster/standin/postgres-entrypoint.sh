#!/bin/bash
# Stand-in for the official postgres image's docker-entrypoint.sh, built from
# Debian's postgresql-15: the part of its contract the chart relies on. On an
# empty PGDATA it runs initdb for POSTGRES_USER with POSTGRES_PASSWORD
# (required), allows password logins from any address and creates
# POSTGRES_DB; then it runs postgres in the foreground, listening on every
# interface. Any other command is run as given.
set -euo pipefail

if [[ $# -gt 0 && $1 != postgres && $1 != -* ]]; then
  exec "$@"
fi
[[ ${1:-} == postgres ]] && shift

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
    echo "postgres stand-in: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --no-instructions >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [[ $POSTGRES_DB != postgres ]]; then
    # Single-user mode: no server and no socket yet.
    printf 'CREATE DATABASE "%s";\n' "${POSTGRES_DB//\"/\"\"}" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres stand-in: initialized $PGDATA for $POSTGRES_USER (database $POSTGRES_DB)" >&2
fi

exec postgres -c listen_addresses='*' "$@"
