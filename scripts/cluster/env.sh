# env.sh: the local cluster's versions and paths, shared by every script in
# scripts/cluster. Source it; it sources scripts/lib.sh.
#
# Versions are pinned here and nowhere else. Kubernetes comes from the Go
# module proxy through the wrapper module in kube/ (its go.mod pins the same
# version); etcd, containerd, runc and the CNI plugins are Debian's.
#
# Three places on disk:
#   CACHE  built binaries, images and root filesystems, kept between runs so
#          that only the first run compiles (per user; AGENTTRACE_CLUSTER_CACHE
#          moves it). Outside the checkout on purpose: a fresh clone on the
#          same machine reuses it.
#   STATE  the running node's data (etcd, containerd, kubelet, volumes, logs);
#          made by up.sh, removed by down.sh.
#   RUNDIR sockets and pid files of the running node.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG_PREFIX=${LOG_PREFIX:-cluster}
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

K8S_VERSION=v1.34.4
KUBE_ROUTER_VERSION=v2.1.0
COREDNS_VERSION=v1.14.7
LOCAL_PATH_VERSION=v0.0.30
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${AGENTTRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

CACHE=${AGENTTRACE_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenttrace/cluster}
CACHE_BIN=$CACHE/bin
CACHE_IMAGES=$CACHE/images
CACHE_ROOTFS=$CACHE/rootfs
STATE=/var/lib/agenttrace-cluster
RUNDIR=/run/agenttrace-cluster
LOGS=$STATE/logs
PKI=$STATE/pki
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig

NODE_NAME=agenttrace-node
POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
CNI_BRIDGE=atcni0
CONTAINERD_SOCK=$RUNDIR/containerd.sock
# The storage class of the PersistentVolume provisioner (local-path).
STORAGE_CLASS=local-path

# Image names as the cluster knows them. The services are tagged with the
# build's content hash by images.sh; the rest carry their source's version.
PAUSE_IMAGE=localhost/agenttrace-cluster/pause:1
COREDNS_IMAGE=localhost/agenttrace-cluster/coredns:${COREDNS_VERSION#v}
# Stand-ins for the official store images, built from Debian's packages.
BUSYBOX_IMAGE=localhost/standin/busybox:bookworm
POSTGRES_IMAGE=localhost/standin/postgres:15-bookworm
REDIS_IMAGE=localhost/standin/redis:7-bookworm
NATS_IMAGE=localhost/standin/nats:2-bookworm
CLICKHOUSE_IMAGE=localhost/standin/clickhouse-server:18.16-bookworm

# archive_path REF: where images.sh writes the OCI archive of image REF.
archive_path() { echo "$CACHE_IMAGES/$(echo "$1" | tr '/:' '__').tar"; }

# node_ip prints the address of the interface that holds the default route.
node_ip() { ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") {print $(i + 1); exit}}'; }

kubectl() { "$CACHE_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
