# lib.sh: what the repository's shell scripts share (deps.sh and the local
# cluster's scripts in scripts/cluster). Source it after setting LOG_PREFIX
# (the word every message starts with) and, where waits are used, TIMEOUT
# (seconds).
#
#   LOG_PREFIX=deps; source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log() { printf '%s: %s\n' "${LOG_PREFIX:-agenttrace}" "$*" >&2; }
die() {
  printf '%s: ERROR: %s\n' "${LOG_PREFIX:-agenttrace}" "$*" >&2
  exit 1
}

# as_root runs a command as root, through sudo when the script is not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@" || die "need root for: $* (run as root or configure passwordless sudo)"
  else
    die "need root for: $* (run as root)"
  fi
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_for NAME CMD... polls CMD once a second until it succeeds or TIMEOUT
# (default 60) seconds pass.
wait_for() {
  local name=$1; shift
  local deadline=$((SECONDS + ${TIMEOUT:-60}))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 1
  done
  log "$name is ready"
}

# apt_install PKG... installs Debian packages (apt-get update once per run).
APT_UPDATED=
apt_install() {
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install it: install it by hand"
  if [[ -z $APT_UPDATED ]]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq </dev/null
    APT_UPDATED=1
  fi
  # Keep the packages' maintainer scripts from starting servers through init
  # scripts (which need systemd or fail in containers): the scripts start
  # what they need themselves. An existing policy is left as it is.
  local policy=/usr/sbin/policy-rc.d own_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# Temporary, from agenttrace scripts/lib.sh.\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    own_policy=1
  fi
  log "apt-get install $*"
  local rc=0
  # Another script may be installing at the same time (make test prepares
  # the cluster beside the module tests): wait for dpkg's lock.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" </dev/null || rc=$?
  if [[ -n $own_policy ]]; then as_root rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get install $* failed (exit $rc)"
}
