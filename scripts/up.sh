#!/usr/bin/env bash
# up.sh runs AgentTrace locally: it starts the dependencies (deps.sh), applies
# the migrations, starts the five services from ./bin in the background, waits
# until each is ready, bootstraps a demo project and API key, sends a small
# agent trace and prints where and how to look at it. `make up` builds the
# binaries first; scripts/down.sh stops what this started.
#
# State lives in .run/: logs/<svc>.log, pids/<svc>.pid, credentials.json and
# secrets.env. credentials.json (mode 600) holds the demo key; a later run
# reuses it while it still authenticates, so `make up` prints the same key
# every time, and says so loudly when it had to make a new one. secrets.env (mode 600) holds the installation's secrets, made
# on the first run and reused on every later one: AGENTTRACE_JWT_SECRET signs
# user and service tokens, AGENTTRACE_ENCRYPTION_KEY encrypts the secrets auth
# stores (LLM API keys), so it must stay the same for as long as the
# database lives. A value already set in the environment wins over the file.
# AGENTTRACE_UP_TIMEOUT (seconds, default 60) bounds each wait.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/bin"
RUN_DIR="$ROOT/.run"
LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"
CREDENTIALS="$RUN_DIR/credentials.json"
DEMO_USER="$RUN_DIR/demo-user.json"
SECRETS="$RUN_DIR/secrets.env"
TIMEOUT=${AGENTTRACE_UP_TIMEOUT:-60}

# Start order: auth first, because every other service validates keys with it.
SERVICES=(auth ingest worker query gateway)
declare -A ADMIN_PORT=([gateway]=9180 [ingest]=9181 [query]=9182 [auth]=9183 [worker]=9184)
GATEWAY_URL=http://127.0.0.1:8080
QUERY_GRPC=127.0.0.1:9082

log() { printf 'up: %s\n' "$*" >&2; }
die() {
  printf 'up: ERROR: %s\n' "$*" >&2
  if compgen -G "$PID_DIR/*.pid" >/dev/null; then
    printf "up: what started keeps running; 'make down' stops it\n" >&2
  fi
  exit 1
}

# Human-readable logs unless the caller chose otherwise.
export AGENTTRACE_LOG_FORMAT=${AGENTTRACE_LOG_FORMAT:-text}
# Rate limits live in the Redis that deps.sh runs.
export AGENTTRACE_REDIS_ADDR=${AGENTTRACE_REDIS_ADDR:-127.0.0.1:6379}

# random_base64 N prints N random bytes as base64 on one line.
random_base64() { head -c "$1" /dev/urandom | base64 -w0; }

# ensure_secrets creates $SECRETS on the first run, then exports its values
# (unless the environment already has them) for every command and service
# this script starts. The values are never printed.
ensure_secrets() {
  if [[ ! -f $SECRETS ]]; then
    log "generating the installation's JWT secret and encryption key into $SECRETS"
    local tmp
    tmp=$(mktemp "$RUN_DIR/.secrets.XXXXXX")
    chmod 600 "$tmp"
    {
      echo "# AgentTrace secrets for this checkout, made by scripts/up.sh. Keep them private."
      echo "# The encryption key must not change while the database holds data encrypted with it."
      echo "AGENTTRACE_JWT_SECRET=$(random_base64 48)"
      echo "AGENTTRACE_ENCRYPTION_KEY=$(random_base64 32)"
    } >"$tmp"
    mv "$tmp" "$SECRETS"
  fi
  chmod 600 "$SECRETS"
  local line name value
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^(AGENTTRACE_[A-Z0-9_]+)=(.*)$ ]] || die "$SECRETS: unexpected line (want NAME=value): ${line%%=*}=..."
    name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    [[ -n ${!name:-} ]] || export "$name=$value"
  done <"$SECRETS"
  ((${#AGENTTRACE_JWT_SECRET} >= 32)) || die "AGENTTRACE_JWT_SECRET must be at least 32 bytes (from the environment or $SECRETS)"
  [[ -n ${AGENTTRACE_ENCRYPTION_KEY:-} ]] || die "AGENTTRACE_ENCRYPTION_KEY is missing (from the environment or $SECRETS)"
}

check_binaries() {
  local svc
  for svc in "${SERVICES[@]}"; do
    [[ -x $BIN/agenttrace-$svc ]] || die "$BIN/agenttrace-$svc is missing: run 'make up' (it builds first) or 'make build'"
  done
  command -v curl >/dev/null || die "curl is needed"
}

# running SVC succeeds when the pid file names a live agenttrace-SVC process.
running() {
  local pidfile="$PID_DIR/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *agenttrace-$1* ]]
}

show_log() {
  log "last lines of $LOG_DIR/$1.log:"
  tail -n 30 "$LOG_DIR/$1.log" >&2 2>/dev/null || true
}

start_service() {
  local svc=$1 port=${ADMIN_PORT[$1]}
  if running "$svc"; then
    # Restart so that a fresh `make build` is what runs.
    log "$svc is already running (pid $(<"$PID_DIR/$svc.pid")); restarting it"
    "$ROOT/scripts/down.sh" --services-only "$svc"
  fi
  if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then
    die "something else already serves 127.0.0.1:$port (the $svc admin port): stop it first (not started by make up)"
  fi
  log "starting $svc"
  printf '\n==== %s: started by scripts/up.sh ====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$LOG_DIR/$svc.log"
  nohup "$BIN/agenttrace-$svc" >>"$LOG_DIR/$svc.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$svc.pid"
}

wait_ready() {
  local svc=$1 port=${ADMIN_PORT[$1]}
  local deadline=$((SECONDS + TIMEOUT))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/ready" 2>/dev/null; do
    if ! running "$svc"; then
      show_log "$svc"
      die "$svc exited during startup (log: $LOG_DIR/$svc.log)"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$svc"
      log "last /ready answer: $(curl -sS --max-time 2 "http://127.0.0.1:$port/ready" 2>&1 | head -c 500)"
      die "$svc is not ready on http://127.0.0.1:$port/ready after ${TIMEOUT}s (log: $LOG_DIR/$svc.log)"
    fi
    sleep 0.5
  done
  log "$svc is ready"
}

# json_field NAME reads a string field from the one-line JSON on stdin.
json_field() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n1; }

uuid() { cat /proc/sys/kernel/random/uuid; }

# ts OFFSET_MS prints BASE_MS + OFFSET_MS as RFC 3339 with milliseconds.
ts() {
  local ms=$((BASE_MS + $1))
  date -u -d "@$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ
}

send_demo_trace() {
  BASE_MS=$(($(date +%s%3N) - 5000))
  TRACE_ID=$(uuid)
  SCORE_ID=$(uuid)
  local session="demo-session-${TRACE_ID:0:8}"
  declare -gA OBS=([AGENT]=$(uuid) [PLAN]=$(uuid) [TOOL]=$(uuid) [RETRIEVER]=$(uuid) [ANSWER]=$(uuid) [EVENT]=$(uuid))
  local -a subst=(-e "s/@TRACE@/$TRACE_ID/g" -e "s/@SCORE@/$SCORE_ID/g" -e "s/@SESSION@/$session/g")
  local name i
  for name in "${!OBS[@]}"; do subst+=(-e "s/@$name@/${OBS[$name]}/g"); done
  for i in $(seq 10 -1 1); do subst+=(-e "s/@EV$i@/$(uuid)/g"); done
  # T0..T8: the agent's steps, a few hundred milliseconds apart.
  local offsets=(0 120 480 1350 1400 1900 2050 3100 3300)
  for i in "${!offsets[@]}"; do subst+=(-e "s/@T$i@/$(ts "${offsets[$i]}")/g"); done
  sed "${subst[@]}" "$ROOT/scripts/demo/trace.json" >"$RUN_DIR/demo-trace.json"

  log "sending the demo trace to $GATEWAY_URL/api/v1/ingestion"
  local status
  status=$(curl -sS -o "$RUN_DIR/demo-ingest-response.json" -w '%{http_code}' --max-time 30 \
    -u "$PUBLIC_KEY:$SECRET_KEY" -H 'Content-Type: application/json' \
    --data-binary "@$RUN_DIR/demo-trace.json" "$GATEWAY_URL/api/v1/ingestion") || die "POST /api/v1/ingestion failed"
  [[ $status == 200 ]] || die "POST /api/v1/ingestion answered $status: $(head -c 2000 "$RUN_DIR/demo-ingest-response.json")"
}

# wait_for_trace polls GetTrace until the trace, its six observations, the
# agent's update and the score are all visible.
wait_for_trace() {
  local deadline=$((SECONDS + TIMEOUT)) body="" want id
  local -a ids=("${OBS[@]}" "$SCORE_ID")
  while :; do
    body=$(curl -sS --max-time 5 -u "$PUBLIC_KEY:$SECRET_KEY" "$GATEWAY_URL/api/v1/traces/$TRACE_ID" 2>/dev/null || true)
    want=0
    for id in "${ids[@]}"; do
      grep -q "\"$id\"" <<<"$body" || want=1
    done
    grep -q 'demo-agent-finished' <<<"$body" || want=1
    ((want == 0)) && break
    if ((SECONDS >= deadline)); then
      log "last answer of GET /api/v1/traces/$TRACE_ID: ${body:0:1000}"
      show_log worker
      die "the demo trace is not complete in query after ${TIMEOUT}s"
    fi
    sleep 0.5
  done
  printf '%s\n' "$body" >"$RUN_DIR/demo-trace-response.json"
  log "the demo trace is queryable"
}

# ensure_demo_user sets UI_EMAIL, UI_PASSWORD and UI_STATUS: the web UI's
# demo login. On an installation without users it signs up $UI_EMAIL as
# the first user, founding the organization "demo" (which the demo key's
# project then joins, so the UI shows the demo trace), with a new random
# password saved in $DEMO_USER (mode 600); a later run reuses it while it
# still signs in. An installation whose users came another way keeps
# them: the summary then says how to sign up or in.
ensure_demo_user() {
  UI_EMAIL=demo@agenttrace.local UI_PASSWORD="" UI_STATUS=""
  local status password tmp
  if [[ -f $DEMO_USER ]]; then
    password=$(json_field password <"$DEMO_USER")
    status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
      -d "{\"email\":\"$UI_EMAIL\",\"password\":\"$password\"}" "$GATEWAY_URL/api/v1/auth/login") ||
      die "checking the saved demo login (POST $GATEWAY_URL/api/v1/auth/login) failed"
    if [[ $status == 200 ]]; then
      UI_PASSWORD=$password UI_STATUS="the same login as the last make up (saved in .run/demo-user.json)"
      log "reusing the demo login $UI_EMAIL saved in $DEMO_USER"
      return
    fi
    log "the demo login saved in $DEMO_USER no longer signs in (HTTP $status); trying to sign it up again"
  fi
  password=$(random_base64 18 | tr '+/' '-_')
  status=$(curl -sS -o "$RUN_DIR/demo-signup.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$UI_EMAIL\",\"password\":\"$password\",\"name\":\"Demo\",\"organization_name\":\"demo\"}" \
    "$GATEWAY_URL/api/v1/auth/signup") || die "signing up the demo user (POST $GATEWAY_URL/api/v1/auth/signup) failed"
  if [[ $status != 200 ]]; then
    UI_STATUS="none made: this installation has users, or an organization demo, already (signup answered $status)"
    log "no demo login: $(head -c 300 "$RUN_DIR/demo-signup.json")"
    return
  fi
  tmp=$(mktemp "$RUN_DIR/.demo-user.XXXXXX")
  chmod 600 "$tmp"
  printf '{"email":"%s","password":"%s"}\n' "$UI_EMAIL" "$password" >"$tmp"
  mv "$tmp" "$DEMO_USER"
  UI_PASSWORD=$password UI_STATUS="new (saved in .run/demo-user.json; later make up runs reuse it)"
  log "signed up the demo user $UI_EMAIL, owner of organization demo"
}

# ensure_demo_key sets PUBLIC_KEY and SECRET_KEY: the demo key saved in
# $CREDENTIALS by an earlier run, when it still authenticates for the demo
# project, else a new one from `agenttrace-auth bootstrap`, saved there.
# KEY_STATUS says which, for the summary.
ensure_demo_key() {
  local old="" why="" status project
  if [[ -f $CREDENTIALS ]]; then
    PUBLIC_KEY=$(json_field public_key <"$CREDENTIALS")
    SECRET_KEY=$(json_field secret_key <"$CREDENTIALS")
    project=$(json_field project_id <"$CREDENTIALS")
    old=${PUBLIC_KEY:-"(unreadable)"}
    if [[ $PUBLIC_KEY == pk-at-* && $SECRET_KEY == sk-at-* && -n $project ]]; then
      # The key's own organization's projects: 200 only for a valid key,
      # and the saved project among them only for the demo key.
      status=$(curl -sS -o "$RUN_DIR/demo-key-check.json" -w '%{http_code}' --max-time 10 \
        -u "$PUBLIC_KEY:$SECRET_KEY" "$GATEWAY_URL/api/v1/projects") ||
        die "checking the saved demo key (GET $GATEWAY_URL/api/v1/projects) failed"
      case $status in
      200)
        if grep -q "\"$project\"" "$RUN_DIR/demo-key-check.json"; then
          log "reusing the demo key $PUBLIC_KEY saved in $CREDENTIALS (it still authenticates)"
          KEY_STATUS="the same key as the last make up (saved in .run/credentials.json)"
          return
        fi
        why="it no longer belongs to the demo project $project"
        ;;
      401 | 403) why="it no longer authenticates (HTTP $status: revoked, or the database was reset)" ;;
      *) die "checking the saved demo key: GET /api/v1/projects answered $status: $(head -c 500 "$RUN_DIR/demo-key-check.json")" ;;
      esac
    else
      why="$CREDENTIALS does not hold a demo key"
    fi
  fi

  log "bootstrapping organization 'demo' and project 'demo' with a new API key"
  local creds
  creds=$("$BIN/agenttrace-auth" bootstrap --org demo --project demo --note "make up demo key") || die "agenttrace-auth bootstrap failed"
  PUBLIC_KEY=$(json_field public_key <<<"$creds")
  SECRET_KEY=$(json_field secret_key <<<"$creds")
  [[ $PUBLIC_KEY == pk-at-* && $SECRET_KEY == sk-at-* ]] || die "unexpected bootstrap output: $(sed 's/sk-at-[A-Za-z0-9_-]*/sk-at-.../g' <<<"$creds")"
  local tmp
  tmp=$(mktemp "$RUN_DIR/.credentials.XXXXXX")
  chmod 600 "$tmp"
  printf '%s\n' "$creds" >"$tmp"
  mv "$tmp" "$CREDENTIALS"
  if [[ -n $old ]]; then
    log "WARNING: the demo key $old from the last make up was REPLACED by $PUBLIC_KEY: $why. Update whatever uses the old key."
    KEY_STATUS="NEW: replaces $old, as $why"
  else
    KEY_STATUS="new (saved in .run/credentials.json; later make up runs reuse it)"
  fi
}

print_summary() {
  local basic
  basic=$(printf '%s:%s' "$PUBLIC_KEY" "$SECRET_KEY" | base64 -w0)
  cat <<SUMMARY

AgentTrace is running.

  Web UI           $GATEWAY_URL/
SUMMARY
  if [[ -n $UI_PASSWORD ]]; then
    cat <<SUMMARY
  Sign in as       $UI_EMAIL
  Password         $UI_PASSWORD
                   $UI_STATUS
SUMMARY
  else
    cat <<SUMMARY
  Demo login       $UI_STATUS
SUMMARY
  fi
  cat <<SUMMARY
  Gateway (REST)   $GATEWAY_URL
  OpenAPI          $GATEWAY_URL/api/v1/openapi.json
  Public key       $PUBLIC_KEY
  Secret key       $SECRET_KEY
                   $KEY_STATUS; keep it private
  Demo trace       $TRACE_ID  ("demo-agent-run", 6 observations, 1 score)
  Server secrets   .run/secrets.env (JWT secret, encryption key; kept across restarts)

Read the demo trace over REST:
  curl -s -u '$PUBLIC_KEY:$SECRET_KEY' $GATEWAY_URL/api/v1/traces/$TRACE_ID

List traces, observations and sessions:
  curl -s -u '$PUBLIC_KEY:$SECRET_KEY' '$GATEWAY_URL/api/v1/traces?tags=demo&page_size=10'
  curl -s -u '$PUBLIC_KEY:$SECRET_KEY' '$GATEWAY_URL/api/v1/observations?trace_id=$TRACE_ID&type=OBSERVATION_TYPE_GENERATION'
  curl -s -u '$PUBLIC_KEY:$SECRET_KEY' '$GATEWAY_URL/api/v1/sessions'

Users: the first user of an installation signs up alone and owns its organization (make up
makes $UI_EMAIL that user on a new installation); later users join by invitation:
  curl -s -H 'Content-Type: application/json' $GATEWAY_URL/api/v1/auth/login \\
    -d '{"email":"$UI_EMAIL","password":"<its password>"}'
  Users send "Authorization: Bearer <access_token>" and, on project calls, "X-AgentTrace-Project: <project id>".

Read it over gRPC:
  bin/grpcurl -plaintext -H "authorization: Basic $basic" -d '{"trace_id":"$TRACE_ID"}' $QUERY_GRPC agenttrace.query.v1.QueryService/GetTrace

Logs            .run/logs/<service>.log   (tail -f .run/logs/*.log)
Readiness       http://127.0.0.1:9180/ready ... :9184/ready (gateway, ingest, query, auth, worker)
Stop            make down
SUMMARY
}

main() {
  check_binaries
  mkdir -p "$LOG_DIR" "$PID_DIR"
  ensure_secrets
  "$ROOT/scripts/deps.sh"

  log "applying PostgreSQL migrations (agenttrace-auth migrate up)"
  "$BIN/agenttrace-auth" migrate up || die "agenttrace-auth migrate up failed (PostgreSQL: see the error above)"
  log "applying ClickHouse migrations (agenttrace-worker migrate up)"
  "$BIN/agenttrace-worker" migrate up || die "agenttrace-worker migrate up failed (ClickHouse: see the error above)"

  local svc
  for svc in "${SERVICES[@]}"; do
    start_service "$svc"
    wait_ready "$svc"
  done

  ensure_demo_user
  ensure_demo_key
  send_demo_trace
  wait_for_trace
  print_summary
}

main "$@"
