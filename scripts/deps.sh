#!/usr/bin/env bash
# deps.sh makes sure PostgreSQL, Redis, NATS (with JetStream) and ClickHouse
# are running on their default local ports. It starts only what is not
# already running, installs Debian's packages where they are missing, and
# records what it started in .run/deps-started so that scripts/down.sh stops
# exactly those and leaves everything else alone. Running it again when all
# four answer does nothing.
#
# It starts the servers directly (no systemd), which works as root in
# containers and CI machines. Set AGENTTRACE_DEPS_TIMEOUT (seconds, default 60)
# to wait longer for a slow start.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR="$ROOT/.run"
STARTED_FILE="$RUN_DIR/deps-started"
PID_DIR="$RUN_DIR/deps"
TIMEOUT=${AGENTTRACE_DEPS_TIMEOUT:-60}
PG_URL_DEFAULT="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

LOG_PREFIX=deps
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

record_started() {
  mkdir -p "$RUN_DIR"
  grep -qx "$1" "$STARTED_FILE" 2>/dev/null || echo "$1" >>"$STARTED_FILE"
}

# ---- PostgreSQL ----------------------------------------------------------

pg_version() {
  # The newest installed cluster version (Debian keeps one directory per version).
  ls /etc/postgresql 2>/dev/null | sort -V | tail -n1
}

pg_connects() { psql "$PG_URL" -w -Atqc 'SELECT 1' >/dev/null 2>&1; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null || ! command -v psql >/dev/null; then apt_install postgresql; fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local ver
    ver=$(pg_version)
    if [[ -z $ver ]]; then
      ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1 || true)
      [[ -n $ver ]] || die "postgresql is installed but no server version found under /usr/lib/postgresql"
      log "creating PostgreSQL $ver cluster 'main'"
      as_root pg_createcluster "$ver" main
    fi
    log "starting PostgreSQL $ver"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&-
    record_started postgres
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 ||
      die "PostgreSQL did not become ready on 127.0.0.1:5432 within ${TIMEOUT}s (see /var/log/postgresql/)"
  fi
  ensure_postgres_auth
}

# ensure_postgres_auth makes the services' default URL (user postgres, no
# password, TCP on loopback) work. Debian's own default asks for a password
# on TCP; a local development database gets loopback trust for the postgres
# user instead, so that every service and test works without extra settings.
# With AGENTTRACE_POSTGRES_URL set, that URL is checked and nothing is changed.
ensure_postgres_auth() {
  if [[ -n ${AGENTTRACE_POSTGRES_URL:-} ]]; then
    PG_URL=$AGENTTRACE_POSTGRES_URL
    pg_connects || die "cannot connect with AGENTTRACE_POSTGRES_URL: $(psql "$PG_URL" -w -Atqc 'SELECT 1' 2>&1 | head -n1)"
    return
  fi
  PG_URL=$PG_URL_DEFAULT
  pg_connects && return
  local err
  err=$(psql "$PG_URL" -w -Atqc 'SELECT 1' 2>&1 | head -n1 || true)
  case $err in
  *password* | *authentication*) ;;
  *) die "cannot connect to PostgreSQL as postgres@127.0.0.1:5432: $err" ;;
  esac
  local ver hba
  ver=$(pg_version)
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  [[ -f $hba ]] || die "PostgreSQL asks for a password and $hba is missing: set AGENTTRACE_POSTGRES_URL (postgres://user:password@127.0.0.1:5432/...)"
  log "PostgreSQL asks postgres@127.0.0.1 for a password; adding loopback trust for the postgres user to $hba"
  as_root sed -i '1i # Added by agenttrace scripts/deps.sh: local development without passwords.\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload 9>&-
  wait_for "PostgreSQL login" pg_connects ||
    die "still cannot connect as postgres@127.0.0.1:5432 after changing $hba: set AGENTTRACE_POSTGRES_URL"
}

# ---- Redis ---------------------------------------------------------------

redis_up() { [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]; }

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server; fi
  redis_up && return
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log 9>&-
  record_started redis
  wait_for Redis redis_up || die "Redis did not answer PING on 127.0.0.1:6379 within ${TIMEOUT}s (see /var/log/redis/ci.log)"
}

# ---- NATS ----------------------------------------------------------------

nats_info() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222; head -n1 <&3' 2>/dev/null; }

ensure_nats() {
  [[ -x /usr/sbin/nats-server ]] || tcp_open 127.0.0.1 4222 || apt_install nats-server
  if ! tcp_open 127.0.0.1 4222; then
    log "starting NATS with JetStream"
    as_root mkdir -p /var/lib/nats-server "$PID_DIR"
    as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$PID_DIR/nats.pid" \
      --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log 9>&-
    record_started nats
    wait_for NATS tcp_open 127.0.0.1 4222 || die "NATS did not listen on 127.0.0.1:4222 within ${TIMEOUT}s (see /var/log/nats-server.log)"
  fi
  # The services need JetStream, which a NATS server started without -js lacks.
  nats_info | grep -q '"jetstream":true' ||
    die "the NATS server on 127.0.0.1:4222 runs without JetStream: restart it with -js (e.g. nats-server -js -sd /var/lib/nats-server)"
}

# ---- ClickHouse ----------------------------------------------------------

clickhouse_up() { clickhouse-client --host 127.0.0.1 --port 9000 -q 'SELECT 1' >/dev/null 2>&1; }

ensure_clickhouse() {
  if [[ ! -x /usr/sbin/clickhouse-server ]] || ! command -v clickhouse-client >/dev/null; then
    apt_install clickhouse-server clickhouse-client
  fi
  clickhouse_up && return
  tcp_open 127.0.0.1 9000 && die "something listens on 127.0.0.1:9000 but does not answer as ClickHouse"
  log "starting ClickHouse"
  id clickhouse >/dev/null 2>&1 || die "the clickhouse user is missing (reinstall clickhouse-server)"
  as_root mkdir -p /var/lib/clickhouse /var/log/clickhouse-server "$PID_DIR"
  as_root chown -R clickhouse:clickhouse /var/lib/clickhouse /var/log/clickhouse-server
  as_root start-stop-daemon --start --background --make-pidfile --pidfile "$PID_DIR/clickhouse.pid" \
    --chuid clickhouse:clickhouse --exec /usr/sbin/clickhouse-server -- --config-file=/etc/clickhouse-server/config.xml 9>&-
  record_started clickhouse
  wait_for ClickHouse clickhouse_up ||
    die "ClickHouse did not answer on 127.0.0.1:9000 within ${TIMEOUT}s (see /var/log/clickhouse-server/clickhouse-server.err.log)"
}

main() {
  mkdir -p "$RUN_DIR"
  # One deps.sh at a time per machine: the servers are shared by every checkout.
  # The servers it starts must not inherit fd 9 (hence the 9>&- on each start),
  # or they would hold the lock for as long as they run.
  exec 9>"${TMPDIR:-/tmp}/agenttrace-deps.lock"
  flock -w "$((TIMEOUT * 4))" 9 || die "another deps.sh holds ${TMPDIR:-/tmp}/agenttrace-deps.lock"

  ensure_postgres
  ensure_redis
  ensure_nats
  ensure_clickhouse
  log "PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379, NATS+JetStream 127.0.0.1:4222, ClickHouse 127.0.0.1:9000 are up"
}

main "$@"
