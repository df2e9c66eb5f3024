#!/usr/bin/env bash
# up.sh starts a single-node Kubernetes cluster on this machine, without
# Docker, kind or a registry: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet on containerd (bridge CNI), kube-proxy (iptables),
# kube-router enforcing NetworkPolicy, CoreDNS in the cluster and the
# local-path PersistentVolume provisioner (storage class "local-path", the
# default). Each runs as a process of its own, recorded by pid in $RUNDIR;
# down.sh stops them and removes every trace (chains, ipsets, bridge,
# mounts, state).
#
# It builds what is missing first (build.sh, images.sh: cached, so only the
# first run compiles) and imports the images into the node's containerd.
# Running it again while the cluster is up only re-imports the service
# images. The admin kubeconfig is $KUBECONFIG_ADMIN. `up.sh --prepare` does
# only the installing and building (make test runs it beside the module
# tests, at low priority).
#
# Needs root, Debian's etcd-server, containerd, runc,
# containernetworking-plugins, iptables, ipset, conntrack, socat and openssl
# (installed when missing). AGENTTRACE_CLUSTER_TIMEOUT (seconds, default 180)
# bounds each wait.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
TIMEOUT=${AGENTTRACE_CLUSTER_TIMEOUT:-180}

NODE_IP=
PACKAGES=(etcd-server containerd runc containernetworking-plugins iptables ipset conntrack socat openssl debootstrap)

# ---- processes -----------------------------------------------------------

# running NAME: whether NAME's recorded pid is alive.
running() { local p; p=$(cat "$RUNDIR/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }

# start NAME CMD...: runs CMD in its own session, logs to $LOGS/NAME.log.
start() {
  local name=$1; shift
  running "$name" && return 0
  # Not holding fd 8 (the lock): the cluster outlives this script.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$RUNDIR/$name.pid"
  log "started $name (pid $!, log $LOGS/$name.log)"
}

# need NAME CMD...: waits for CMD, and fails with NAME's log when it does not come.
need() {
  local name=$1; shift
  if ! wait_for "$name" "$@"; then
    tail -n 25 "$LOGS/$name.log" >&2 2>/dev/null || true
    die "$name did not become ready within ${TIMEOUT}s (log: $LOGS/$name.log)"
  fi
}

# ---- host preparation ----------------------------------------------------

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

prepare_host() {
  modprobe br_netfilter 2>/dev/null || true
  modprobe overlay 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1
  if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    sysctl -qw net.bridge.bridge-nf-call-iptables=1
  else
    die "bridged traffic does not pass iptables here (no br_netfilter): Services and NetworkPolicy cannot work"
  fi
  NODE_IP=$(node_ip)
  [[ -n $NODE_IP ]] || die "no default route: cannot tell the node's address"
  mkdir -p "$STATE" "$RUNDIR" "$LOGS" "$PKI" "$STATE/cni/net.d" "$STATE/volumes"
  echo "$NODE_IP" >"$STATE/node-ip"
}

# ---- certificates and kubeconfigs -----------------------------------------

# cert NAME CN ORG USAGE [SANS]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=$3 usage=$4 sans=${5:-}
  [[ -f $PKI/$name.crt ]] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" \
    -subj "/CN=$cn${org:+/O=$org}" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# kubeconfig NAME CERT: a kubeconfig that authenticates with CERT's key pair.
kubeconfig() {
  cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: agenttrace-local
    cluster:
      certificate-authority: $PKI/ca.crt
      server: https://$NODE_IP:6443
users:
  - name: $2
    user:
      client-certificate: $PKI/$2.crt
      client-key: $PKI/$2.key
contexts:
  - name: agenttrace-local
    context: {cluster: agenttrace-local, user: $2}
current-context: agenttrace-local
EOF
}

make_pki() {
  umask 077
  if [[ ! -f $PKI/ca.crt ]]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" \
      -subj "/CN=agenttrace-local-ca" -days 30 -sha256 -out "$PKI/ca.crt" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" serverAuth \
    "IP:$KUBERNETES_SVC_IP,IP:$NODE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  cert admin admin system:masters clientAuth
  cert controller-manager system:kube-controller-manager "" clientAuth
  cert scheduler system:kube-scheduler "" clientAuth
  cert kubelet-client "system:node:$NODE_NAME" system:nodes clientAuth
  cert kubelet "system:node:$NODE_NAME" system:nodes serverAuth "DNS:$NODE_NAME,IP:$NODE_IP,IP:127.0.0.1"
  cert kube-proxy system:kube-proxy "" clientAuth
  # kube-router and the provisioner run on the host as cluster operators do.
  cert kube-router system:kube-router "" clientAuth
  cert local-path-provisioner system:local-path-provisioner "" clientAuth
  if [[ ! -f $PKI/sa.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
    openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  umask 022
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet-client
  kubeconfig kube-proxy kube-proxy
  kubeconfig kube-router kube-router
  kubeconfig local-path-provisioner local-path-provisioner
}

# ---- control plane -------------------------------------------------------

start_etcd() {
  start etcd etcd --name agenttrace --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster agenttrace=http://127.0.0.1:2380 --quota-backend-bytes 2147483648
  need etcd curl -fsS http://127.0.0.1:2379/health
}

apiserver_ready() {
  curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$NODE_IP:6443/readyz" >/dev/null
}

start_control_plane() {
  start kube-apiserver "$CACHE_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --secure-port=6443 \
    --etcd-servers=http://127.0.0.1:2379 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --allow-privileged=true --profiling=false --event-ttl=1h
  need kube-apiserver apiserver_ready
  start kube-controller-manager "$CACHE_BIN/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --cluster-cidr="$POD_CIDR" --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
  start kube-scheduler "$CACHE_BIN/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

# ---- node ----------------------------------------------------------------

start_containerd() {
  mkdir -p "$STATE/containerd"
  # restrict_oom_score_adj: this VM lacks CAP_SYS_RESOURCE, so runc may not
  # lower a container's oom_score_adj. cgroupfs (no systemd here).
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUNDIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
  cat >"$STATE/cni/net.d/10-agenttrace.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "agenttrace",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "${POD_CIDR%.*/*}.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
  start containerd containerd --config "$STATE/containerd/config.toml"
  need containerd ctr --address "$CONTAINERD_SOCK" version
}

import_images() {
  local tag a
  tag=$(cat "$CACHE_IMAGES/services.tag")
  for a in "$(archive_path "$PAUSE_IMAGE")" "$(archive_path "$COREDNS_IMAGE")" "$(archive_path "$BUSYBOX_IMAGE")" \
    "$(archive_path "$POSTGRES_IMAGE")" "$(archive_path "$REDIS_IMAGE")" "$(archive_path "$NATS_IMAGE")" \
    "$(archive_path "$CLICKHOUSE_IMAGE")" "$CACHE_IMAGES"/localhost_agenttrace_agenttrace-*_"$tag".tar; do
    [[ -f $a ]] || die "missing image archive $a (scripts/cluster/images.sh builds it)"
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$a" >/dev/null ||
      die "importing $a into containerd failed"
  done
  log "images imported (services tagged $tag)"
}

node_ready() {
  [[ $(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

start_kubelet() {
  mkdir -p "$STATE/kubelet"
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# cgroup v1 without systemd: cgroupfs, and v1 allowed (1.34 only warns).
cgroupDriver: cgroupfs
failCgroupV1: false
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$DNS_SVC_IP]
resolvConf: /etc/resolv.conf
failSwapOn: false
# The images are imported, never pulled, and must not be collected.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 200Mi
  nodefs.available: 2%
  imagefs.available: 2%
  nodefs.inodesFree: 2%
maxPods: 60
serializeImagePulls: false
shutdownGracePeriod: 0s
EOF
  start kubelet "$CACHE_BIN/kubelet" --config="$STATE/kubelet/config.yaml" \
    --kubeconfig="$STATE/kubelet.kubeconfig" --root-dir="$STATE/kubelet" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"
  need kubelet node_ready
}

# guard_services makes a pod's connection to a Service address that
# kube-proxy has not translated (yet) fail at once: a Service created a
# moment ago, or one without endpoints. On a real network such packets die;
# on this machine's network a transparent proxy answers every TCP
# connection, so a pod that connects before kube-proxy's rules land gets a
# "connection" to that proxy, and a gRPC client keeps it (HTTP 404s)
# instead of retrying. The routing decision for a pod's packet comes after
# kube-proxy's DNAT, so translated traffic never meets the rule.
guard_services() {
  ip rule show | grep -q "from $POD_CIDR to $SERVICE_CIDR unreachable" ||
    ip rule add from "$POD_CIDR" to "$SERVICE_CIDR" unreachable priority 100
}

start_kube_proxy() {
  cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# The VM's conntrack table size is left as it is.
conntrack: {maxPerCore: 0}
EOF
  start kube-proxy "$CACHE_BIN/kube-proxy" --config="$STATE/kube-proxy.yaml"
  need kube-proxy curl -fsS http://127.0.0.1:10256/healthz
}

start_kube_router() {
  start kube-router "$CACHE_BIN/kube-router" --kubeconfig="$STATE/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --service-cluster-ip-range="$SERVICE_CIDR" --health-port=20244 --metrics-port=0
  need kube-router curl -fsS http://127.0.0.1:20244/healthz
}

# ---- add-ons ---------------------------------------------------------------

apply_addons() {
  sed -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" \
    -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" -e "s|@BUSYBOX_IMAGE@|$BUSYBOX_IMAGE|g" \
    -e "s|@STORAGE_CLASS@|$STORAGE_CLASS|g" -e "s|@VOLUMES@|$STATE/volumes|g" \
    "$ROOT/scripts/cluster/addons.yaml" | kubectl apply -f - >/dev/null ||
    die "applying scripts/cluster/addons.yaml failed"
  start local-path-provisioner "$CACHE_BIN/local-path-provisioner" start \
    --kubeconfig="$STATE/local-path-provisioner.kubeconfig" --namespace=local-path-storage \
    --provisioner-name=rancher.io/local-path \
    --service-account-name=local-path-provisioner --configmap-name=local-path-config \
    --helper-image="$BUSYBOX_IMAGE"
  need coredns kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
}

# write_env records what a client of the cluster needs (tests/cluster reads
# it through AGENTTRACE_CLUSTER_ENV) as KEY=VALUE lines.
write_env() {
  cat >"$STATE/cluster.env" <<EOF
KUBECONFIG=$KUBECONFIG_ADMIN
KUBECTL=$CACHE_BIN/kubectl
NODE_IP=$(cat "$STATE/node-ip")
NODE_NAME=$NODE_NAME
STORAGE_CLASS=$STORAGE_CLASS
SERVICE_IMAGE_REGISTRY=localhost/agenttrace
SERVICE_IMAGE_TAG=$(cat "$CACHE_IMAGES/services.tag")
POSTGRES_IMAGE=$POSTGRES_IMAGE
REDIS_IMAGE=$REDIS_IMAGE
NATS_IMAGE=$NATS_IMAGE
CLICKHOUSE_IMAGE=$CLICKHOUSE_IMAGE
BUSYBOX_IMAGE=$BUSYBOX_IMAGE
LOGS=$LOGS
EOF
}

main() {
  [[ $EUID -eq 0 ]] || die "the local cluster needs root (containerd, iptables, mounts)"
  case ${1:-} in
  "" | --prepare) ;;
  *) die "usage: up.sh [--prepare]   (--prepare: install, build and make the images, start nothing)" ;;
  esac
  local started=$SECONDS
  exec 8>"/tmp/agenttrace-cluster.lock"
  flock -w 3600 8 || die "another scripts/cluster script holds /tmp/agenttrace-cluster.lock"
  install_packages
  "$ROOT/scripts/cluster/build.sh"
  "$ROOT/scripts/cluster/images.sh"
  if [[ ${1:-} == --prepare ]]; then
    log "prepared in $((SECONDS - started))s: binaries and images are in $CACHE"
    return
  fi
  prepare_host
  if running kube-apiserver && apiserver_ready && running containerd; then
    log "the cluster is already up; importing the current service images"
    guard_services
    import_images
    write_env
    return
  fi
  [[ ! -e $RUNDIR/containerd.pid ]] || die "a previous cluster was not stopped cleanly: run scripts/cluster/down.sh first"
  local t=$SECONDS
  make_pki
  start_etcd
  start_control_plane
  start_containerd
  import_images
  start_kubelet
  guard_services
  start_kube_proxy
  start_kube_router
  apply_addons
  write_env
  log "cluster up in $((SECONDS - t))s (this run: $((SECONDS - started))s); node $NODE_NAME at $NODE_IP"
  log "use it with: export KUBECONFIG=$KUBECONFIG_ADMIN  (kubectl: $CACHE_BIN/kubectl); settings in $STATE/cluster.env"
}

main "$@"
