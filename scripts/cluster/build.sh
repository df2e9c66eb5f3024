#!/usr/bin/env bash
# build.sh [all|kubernetes|addons] compiles the local cluster's programs into $CACHE/bin, once: each
# is rebuilt only when its pinned version (or the wrapper module's files)
# changes. Kubernetes' six binaries and the pod sandbox's pause program come
# from the wrapper module in kube/; kube-router, CoreDNS and the local-path
# provisioner are `go install`ed at their pinned versions. Everything comes
# from the Go module proxy; nothing is downloaded from elsewhere.
#
# Cold, on a 2-core machine, this is the long pole of `make cluster-up`
# (kube-apiserver alone takes most of it); later runs find everything cached.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

KUBE_MODULE=$ROOT/scripts/cluster/kube
BUILD_LOGS=$CACHE/build-logs
mkdir -p "$CACHE_BIN" "$BUILD_LOGS"

# stamp_ok NAME STAMP: whether NAME was built from exactly STAMP.
stamp_ok() { [[ -x $CACHE_BIN/$1 && -f $CACHE_BIN/.$1.stamp && $(<"$CACHE_BIN/.$1.stamp") == "$2" ]]; }

k8s_stamp() {
  echo "$K8S_VERSION $(cat "$KUBE_MODULE/go.mod" "$KUBE_MODULE/go.sum" "$KUBE_MODULE/pause/main.go" | sha256sum | cut -c1-16) $(go env GOVERSION)"
}

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl pause)

build_kubernetes() {
  local stamp b missing=
  stamp=$(k8s_stamp)
  for b in "${K8S_BINS[@]}"; do stamp_ok "$b" "$stamp" || missing=1; done
  [[ -z $missing ]] && return 0
  log "building Kubernetes $K8S_VERSION (kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl) and pause; cold this takes tens of minutes on 2 cores (log: $BUILD_LOGS/kubernetes.log)"
  local out minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  out=$(mktemp -d "$CACHE/build.XXXXXX")
  # The version must be stamped, or the API server reports v0.0.0 and Helm's
  # kubeVersion checks fail.
  local pkg=k8s.io/component-base/version
  (cd "$KUBE_MODULE" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    -o "$out/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
    k8s.io/kubernetes/cmd/kubectl ./pause) >"$BUILD_LOGS/kubernetes.log" 2>&1 ||
    { tail -n 30 "$BUILD_LOGS/kubernetes.log" >&2; rm -rf "$out"; die "building Kubernetes failed (log: $BUILD_LOGS/kubernetes.log)"; }
  for b in "${K8S_BINS[@]}"; do
    mv -f "$out/$b" "$CACHE_BIN/$b"
    echo "$stamp" >"$CACHE_BIN/.$b.stamp"
  done
  rm -rf "$out"
}

# go_install NAME PACKAGE VERSION builds one pinned program statically.
go_install() {
  local name=$1 pkg=$2 version=$3 stamp out
  stamp="$version $(go env GOVERSION)"
  stamp_ok "$name" "$stamp" && return 0
  log "building $name $version (log: $BUILD_LOGS/$name.log)"
  out=$(mktemp -d "$CACHE/build.XXXXXX")
  (cd "$out" && GOWORK=off GOBIN="$out" CGO_ENABLED=0 GOFLAGS= go install -trimpath -ldflags "-s -w" "$pkg@$version") \
    >"$BUILD_LOGS/$name.log" 2>&1 ||
    { tail -n 30 "$BUILD_LOGS/$name.log" >&2; rm -rf "$out"; die "building $name failed (log: $BUILD_LOGS/$name.log)"; }
  # go install names the binary after the package path's last element.
  mv -f "$out/$(basename "$pkg")" "$CACHE_BIN/$name"
  echo "$stamp" >"$CACHE_BIN/.$name.stamp"
  rm -rf "$out"
}

build_addons() {
  go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
  go_install coredns github.com/coredns/coredns "$COREDNS_VERSION"
  go_install local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_VERSION"
}

main() {
  command -v go >/dev/null || die "go is not on PATH"
  case ${1:-all} in
  kubernetes) build_kubernetes; return ;;
  addons) build_addons; return ;;
  all) ;;
  *) die "usage: build.sh [all|kubernetes|addons]" ;;
  esac
  # Two builds side by side keep both cores busy while one of them links.
  local started=$SECONDS rc=0
  build_kubernetes &
  local k8s=$!
  build_addons || rc=$?
  wait "$k8s" || rc=$?
  ((rc == 0)) || exit "$rc"
  log "binaries ready in $CACHE_BIN ($((SECONDS - started))s)"
}

main "$@"
