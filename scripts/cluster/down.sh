#!/usr/bin/env bash
# down.sh stops the local cluster that up.sh started and leaves nothing of it
# behind: every container (through containerd), then the processes by their
# recorded pids (in the reverse order of their start), then the mounts under
# the node's directories, the iptables chains of kube-proxy, kube-router and
# the CNI plugins, kube-router's ipsets, the CNI bridge and the pods' network
# namespaces, and finally $STATE and $RUNDIR. The cache of built binaries and
# images stays. It is safe to run when nothing is up, and it ends by checking
# that nothing is left (exit 1 with what is, otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# Reverse start order: the node's agents before the control plane.
PROCESSES=(local-path-provisioner kube-router kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd)

# stop NAME: SIGTERM, up to 20 s, then SIGKILL; the whole session, so that
# children go too.
stop() {
  local pidfile=$RUNDIR/$1.pid pid i
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$1 (pid $pid) did not stop on SIGTERM; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

# stop_containers kills every task containerd runs for Kubernetes and
# deletes the containers, before containerd itself stops.
stop_containers() {
  [[ -S $CONTAINERD_SOCK ]] || return 0
  local c=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) id
  for id in $("${c[@]}" tasks list -q 2>/dev/null); do
    "${c[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" tasks list -q 2>/dev/null); do
    "${c[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" containers list -q 2>/dev/null); do
    "${c[@]}" containers delete "$id" >/dev/null 2>&1 || true
  done
}

# The shims outlive containerd; they belong to this cluster when their
# -address names its socket.
kill_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

unmount_all() {
  local m
  # Deepest first.
  for m in $(findmnt -rn -o TARGET | grep -E "^($STATE|$RUNDIR|/run/netns/cni-|/var/run/netns/cni-)" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
  done
  rm -f /run/netns/cni-* /var/run/netns/cni-* 2>/dev/null || true
}

# clean_iptables drops every rule and chain of kube-proxy (KUBE-), kube-router
# (KUBE-ROUTER-, KUBE-NWPLCY-, KUBE-POD-FW-, ...) and the CNI plugins (CNI-)
# from every table, leaving everyone else's rules as they are.
clean_iptables() {
  local save restore
  for save in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do
    command -v "$save" >/dev/null || continue
    restore=${save/-save/-restore}
    local rules
    rules=$("$save" 2>/dev/null) || continue
    grep -qE 'KUBE-|CNI-' <<<"$rules" || continue
    grep -vE 'KUBE-|CNI-' <<<"$rules" | "$restore" || log "$restore failed: chains may be left"
  done
}

clean_ipsets() {
  command -v ipset >/dev/null || return 0
  local s
  for s in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router|inet6:KUBE-|inet6:kube-router)' || true); do
    ipset destroy "$s" 2>/dev/null || log "cannot destroy ipset $s"
  done
}

# up.sh's guard_services rule.
clean_rules() {
  while ip rule del from "$POD_CIDR" to "$SERVICE_CIDR" unreachable 2>/dev/null; do :; done
}

clean_links() {
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$CNI_BRIDGE"
  local l
  for l in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link delete "$l" 2>/dev/null || true
  done
  return 0
}

# leftovers prints what of the cluster is still on the machine.
leftovers() {
  local pid
  for name in containerd "${PROCESSES[@]}"; do
    [[ -f $RUNDIR/$name.pid ]] && pid=$(<"$RUNDIR/$name.pid") && kill -0 "$pid" 2>/dev/null && echo "process $name ($pid)"
  done
  pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" >/dev/null && echo "containerd shims"
  findmnt -rn -o TARGET | grep -E "^($STATE|$RUNDIR)" | sed 's/^/mount /'
  local save
  for save in iptables-save ip6tables-save; do
    command -v "$save" >/dev/null && "$save" 2>/dev/null | grep -E '^:(KUBE-|CNI-)' | sed "s/^/$save chain /"
  done
  command -v ipset >/dev/null && ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)' | sed 's/^/ipset /'
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && echo "bridge $CNI_BRIDGE"
  ip rule show | grep "to $SERVICE_CIDR" | sed 's/^/ip rule /'
  [[ -e $STATE || -e $RUNDIR ]] && echo "directory $STATE or $RUNDIR"
  return 0
}

main() {
  [[ $EUID -eq 0 ]] || die "the local cluster needs root"
  exec 8>"/tmp/agenttrace-cluster.lock"
  flock -w 600 8 || die "another scripts/cluster script holds /tmp/agenttrace-cluster.lock"
  local t=$SECONDS
  # Kubelet first, so that it restarts nothing that is being removed.
  stop kubelet
  stop_containers
  stop containerd
  kill_shims
  local p
  for p in "${PROCESSES[@]}"; do stop "$p"; done
  unmount_all
  # kube-proxy and kube-router know their own rules; what they miss goes
  # with the generic sweep.
  if [[ -x $CACHE_BIN/kube-proxy ]]; then "$CACHE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  clean_iptables
  clean_ipsets
  clean_rules
  clean_links
  rm -rf "$STATE" "$RUNDIR"
  local left
  left=$(leftovers)
  if [[ -n $left ]]; then
    printf '%s\n' "$left" >&2
    die "the cluster left the above behind"
  fi
  log "cluster down in $((SECONDS - t))s; nothing left behind (cache kept in $CACHE)"
}

main "$@"
