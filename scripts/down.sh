#!/usr/bin/env bash
# down.sh stops what `make up` started: the five services (by their pid files
# in .run/pids), then the dependencies that scripts/deps.sh recorded in
# .run/deps-started as started by it. Servers that were already running before
# (preinstalled PostgreSQL, a shared ClickHouse, ...) are left alone. So is
# .run/secrets.env: the next `make up` must run with the same JWT secret and
# encryption key, or what auth encrypted in PostgreSQL becomes unreadable.
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
# Signal order: the edge first, auth last, so callers start draining before
# what they call does.
SERVICES=(gateway query ingest worker auth)

log() { printf 'down: %s\n' "$*" >&2; }

# service_pid SVC prints the pid from SVC's pid file when it names a live
# agenttrace-SVC process (a stale pid may have been reused by something else).
service_pid() {
  local pidfile="$PID_DIR/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *agenttrace-$1* ]] || return 1
  echo "$pid"
}

# stop_services SVC... sends SIGTERM to all of them in order, so they drain in
# parallel, waits up to TIMEOUT for them to exit, then SIGKILLs the rest.
stop_services() {
  local -A pids=()
  local svc pid
  for svc in "$@"; do
    if pid=$(service_pid "$svc"); then
      kill -TERM "$pid" 2>/dev/null && pids[$svc]=$pid
    fi
    rm -f "$PID_DIR/$svc.pid"
  done
  local deadline=$((SECONDS + TIMEOUT))
  while ((${#pids[@]})); do
    for svc in "${!pids[@]}"; do
      pid=${pids[$svc]}
      if ! kill -0 "$pid" 2>/dev/null; then
        log "stopped $svc (pid $pid)"
        unset "pids[$svc]"
      elif ((SECONDS >= deadline)); then
        log "$svc (pid $pid) did not stop within ${TIMEOUT}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        unset "pids[$svc]"
      fi
    done
    ((${#pids[@]})) && sleep 0.2
  done
  return 0
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
    stop_services "$@"
    return
  fi
  stop_services "${SERVICES[@]}"

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
