#!/usr/bin/env bash
# down.sh stops what `make up` started: the five services (by their pid files
# in .run/pids), then the dependencies that scripts/deps.sh recorded in
# .run/deps-started as started by it. Servers that were already running before
# (preinstalled PostgreSQL, a shared ClickHouse, ...) are left alone.
#
#   down.sh                          stop the services and the recorded dependencies
#   down.sh --services-only [SVC...] stop only these services (default: all five)
#
# AGENTTRACE_DOWN_TIMEOUT (seconds, default 40) is how long a service gets to
# drain after SIGTERM before it is killed; it exceeds the services' default
# drain delay plus shutdown timeout (2s + 25s).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR="$ROOT/.run"
PID_DIR="$RUN_DIR/pids"
STARTED_FILE="$RUN_DIR/deps-started"
DEPS_PID_DIR="$RUN_DIR/deps"
TIMEOUT=${AGENTTRACE_DOWN_TIMEOUT:-40}
# Stop order: the edge first, auth last, so nothing calls a stopped service.
SERVICES=(gateway query ingest worker auth)

log() { printf 'down: %s\n' "$*" >&2; }

# stop_pid NAME PID sends SIGTERM, waits up to TIMEOUT, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) did not stop within ${TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  log "stopped $name (pid $pid)"
}

stop_service() {
  local svc=$1 pidfile="$PID_DIR/$1.pid" pid
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  # Only a live agenttrace-<svc> process: a stale pid may have been reused.
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *agenttrace-$svc* ]]; then
    stop_pid "$svc" "$pid"
  fi
  rm -f "$pidfile"
}

stop_dep() {
  case $1 in
  postgres)
    local ver
    ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
    if [[ -n $ver ]]; then pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || true; fi
    ;;
  redis)
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    ;;
  nats)
    start-stop-daemon --stop --quiet --oknodo --retry "TERM/$TIMEOUT/KILL/5" --remove-pidfile \
      --pidfile "$DEPS_PID_DIR/nats.pid" --exec /usr/sbin/nats-server || true
    ;;
  clickhouse)
    start-stop-daemon --stop --quiet --oknodo --retry "TERM/$TIMEOUT/KILL/5" --remove-pidfile \
      --pidfile "$DEPS_PID_DIR/clickhouse.pid" --exec /usr/sbin/clickhouse-server || true
    ;;
  *)
    log "unknown dependency '$1' in $STARTED_FILE; ignoring it"
    return 0
    ;;
  esac
  log "stopped $1 (started by scripts/deps.sh)"
}

main() {
  if [[ ${1:-} == --services-only ]]; then
    shift
    (($#)) || set -- "${SERVICES[@]}"
    local svc
    for svc in "$@"; do stop_service "$svc"; done
    return
  fi
  local svc
  for svc in "${SERVICES[@]}"; do stop_service "$svc"; done

  if [[ -s $STARTED_FILE ]]; then
    local -a deps
    mapfile -t deps <"$STARTED_FILE"
    # Reverse start order.
    local i
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
      [[ -n ${deps[$i]} ]] && stop_dep "${deps[$i]}"
    done
  fi
  rm -f "$STARTED_FILE"
  log "done"
}

main "$@"
