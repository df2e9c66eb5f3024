#!/usr/bin/env bash
# images.sh writes the local cluster's container images as OCI archives into
# $CACHE/images, without Docker or a registry (up.sh imports them into the
# node's containerd):
#
#   the five services   built like build/Dockerfile and .ko.yaml do (static,
#                       CGO off, -trimpath, -tags timetzdata, -s -w) on a base
#                       like distroless static's nonroot (passwd/group with
#                       nonroot 65532, CA roots, tzdata, /tmp), run as
#                       65532:65532 with the binary as ENTRYPOINT; tagged with
#                       the binaries' content hash (printed into
#                       $CACHE/images/services.tag)
#   stand-ins           for the official postgres, redis, nats,
#                       clickhouse-server and busybox images, from Debian's
#                       packages (standin/ has the pieces that make them honour
#                       the environment the chart gives the official images)
#   pause, coredns      the pod sandbox and the cluster DNS
#
# Every image is one uncompressed layer. An archive is rebuilt only when what
# it is made of changes (a stamp beside it records that).
#
#   images.sh [all|services|cluster|standins]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STANDIN=$ROOT/scripts/cluster/standin
SERVICES=(auth gateway ingest query worker)
ARCH=$(dpkg --print-architecture 2>/dev/null || go env GOARCH)
mkdir -p "$CACHE_IMAGES" "$CACHE_ROOTFS"

# oci_pack REF ROOTFS CONFIG writes an OCI image layout archive of one layer
# (ROOTFS as it is on disk, owners included) with CONFIG as the image's
# "config" object, named REF for `ctr images import`.
oci_pack() {
  local ref=$1 dir=$2 cfg=$3 out work layer ld ls cd cs md ms
  out=$(archive_path "$ref")
  work=$(mktemp -d "$CACHE_IMAGES/.pack.XXXXXX")
  mkdir -p "$work/blobs/sha256"
  tar --sort=name --mtime=@0 --numeric-owner --xattrs -C "$dir" -cf "$work/layer.tar" .
  ld=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  ls=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$work/blobs/sha256/$ld"
  printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"agenttrace scripts/cluster/images.sh"}]}' \
    "$ARCH" "$cfg" "$ld" >"$work/config.json"
  cd=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  cs=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$work/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" >"$work/manifest.json"
  md=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  ms=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$work/blobs/sha256/$md"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$ref" "${ref##*:}" >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" oci-layout index.json blobs
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
}

# fresh REF STAMP: whether REF's archive exists and was made from STAMP.
fresh() { local a; a=$(archive_path "$1"); [[ -f $a && -f $a.stamp && $(<"$a.stamp") == "$2" ]]; }
stamp() { echo "$2" >"$(archive_path "$1").stamp"; }

# static_base DIR lays out what distroless static's nonroot image holds.
static_base() {
  local d=$1
  mkdir -p "$d/etc/ssl/certs" "$d/usr/share" "$d/usr/local/bin" "$d/tmp" "$d/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$d/etc/group"
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] || apt_install ca-certificates
  cp /etc/ssl/certs/ca-certificates.crt "$d/etc/ssl/certs/"
  [[ -d /usr/share/zoneinfo ]] || apt_install tzdata
  cp -a /usr/share/zoneinfo "$d/usr/share/"
  chmod 1777 "$d/tmp"
  chmod 700 "$d/home/nonroot"
  chown 65532:65532 "$d/home/nonroot"
}

# ---- the five services ---------------------------------------------------

build_services() {
  local out svc tag
  out=$(mktemp -d "$CACHE_IMAGES/.services.XXXXXX")
  log "building the five service binaries as build/Dockerfile does"
  for svc in "${SERVICES[@]}"; do
    (cd "$ROOT/services/$svc" && GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -tags=timetzdata -ldflags="-s -w" -o "$out/$svc" "./cmd/$svc") ||
      die "building $svc failed"
  done
  tag=dev-$(cat "${SERVICES[@]/#/$out/}" | sha256sum | cut -c1-12)
  for svc in "${SERVICES[@]}"; do
    local ref=localhost/agenttrace/agenttrace-$svc:$tag
    if ! fresh "$ref" "$tag"; then
      local d="$out/root-$svc"
      static_base "$d"
      install -m 0755 "$out/$svc" "$d/usr/local/bin/agenttrace"
      oci_pack "$ref" "$d" '{"User":"65532:65532","Entrypoint":["/usr/local/bin/agenttrace"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],"WorkingDir":"/home/nonroot","Labels":{"org.opencontainers.image.title":"agenttrace-'"$svc"'"}}'
      stamp "$ref" "$tag"
    fi
  done
  # Older builds of the services are of no further use.
  find "$CACHE_IMAGES" -maxdepth 1 -name 'localhost_agenttrace_agenttrace-*' ! -name "*_$tag.tar*" -delete
  echo "$tag" >"$CACHE_IMAGES/services.tag"
  rm -rf "$out"
  log "service images tagged $tag"
}

# ---- pause and CoreDNS ---------------------------------------------------

build_cluster_images() {
  local d
  if ! fresh "$PAUSE_IMAGE" "$(cat "$CACHE_BIN/.pause.stamp")"; then
    d=$(mktemp -d "$CACHE_IMAGES/.root.XXXXXX")
    install -m 0755 "$CACHE_BIN/pause" "$d/pause"
    oci_pack "$PAUSE_IMAGE" "$d" '{"User":"65535:65535","Entrypoint":["/pause"]}'
    stamp "$PAUSE_IMAGE" "$(cat "$CACHE_BIN/.pause.stamp")"
    rm -rf "$d"
  fi
  if ! fresh "$COREDNS_IMAGE" "$(cat "$CACHE_BIN/.coredns.stamp")"; then
    d=$(mktemp -d "$CACHE_IMAGES/.root.XXXXXX")
    static_base "$d"
    install -m 0755 "$CACHE_BIN/coredns" "$d/coredns"
    oci_pack "$COREDNS_IMAGE" "$d" '{"Entrypoint":["/coredns"],"ExposedPorts":{"53/tcp":{},"53/udp":{}}}'
    stamp "$COREDNS_IMAGE" "$(cat "$CACHE_BIN/.coredns.stamp")"
    rm -rf "$d"
  fi
}

# ---- stand-ins from Debian -----------------------------------------------

# base_rootfs: a minimal Debian, bootstrapped once.
base_rootfs() {
  local base=$CACHE_ROOTFS/base-$DEBIAN_SUITE
  [[ -f $base/.complete ]] && return 0
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "bootstrapping a minimal Debian $DEBIAN_SUITE for the store stand-ins (a few minutes, once)"
  rm -rf "$base.tmp"
  as_root debootstrap --variant=minbase "$DEBIAN_SUITE" "$base.tmp" "$DEBIAN_MIRROR" >"$CACHE_ROOTFS/debootstrap.log" 2>&1 ||
    die "debootstrap failed (log: $CACHE_ROOTFS/debootstrap.log)"
  touch "$base.tmp/.complete"
  rm -rf "$base"
  mv "$base.tmp" "$base"
}

# in_chroot DIR CMD... runs CMD inside DIR with /proc and /dev available and
# no service started by package scripts.
in_chroot() {
  local dir=$1; shift
  mount -t proc proc "$dir/proc"
  mount --bind /dev "$dir/dev"
  local rc=0
  chroot "$dir" "$@" || rc=$?
  umount "$dir/dev" "$dir/proc"
  return "$rc"
}

# slim DIR removes what a container never reads.
slim() {
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/* \
    "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/lintian \
    "$1"/usr/sbin/policy-rc.d "$1"/.complete "$1"/tmp/*
  find "$1/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
}

# standin NAME REF PACKAGES SETUP CONFIG builds REF from the base plus
# PACKAGES, then runs the function SETUP with the root directory and the
# phase (pre: before the packages, post: after) as its arguments. The
# files of standin/ named NAME-* are its own.
standin() {
  local name=$1 ref=$2 pkgs=$3 setup=$4 cfg=$5 st d
  # What the image is made of: its files in standin/, the packages, the
  # setup function and the config.
  st="$({ cat "$STANDIN/$name"-* 2>/dev/null || true; declare -f "$setup" slim oci_pack; echo "$cfg"; } | sha256sum | cut -c1-16) $pkgs"
  fresh "$ref" "$st" && return 0
  base_rootfs
  log "building the stand-in $ref from Debian's $pkgs"
  d=$(mktemp -d "$CACHE_ROOTFS/.standin.XXXXXX")
  cp -a "$CACHE_ROOTFS/base-$DEBIAN_SUITE/." "$d/"
  cp /etc/resolv.conf "$d/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d"
  chmod 755 "$d/usr/sbin/policy-rc.d"
  "$setup" "$d" pre
  # shellcheck disable=SC2086
  in_chroot "$d" env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs" \
    >"$CACHE_ROOTFS/$(basename "${ref%%:*}").log" 2>&1 ||
    { rm -rf "$d"; die "installing $pkgs for $ref failed (log: $CACHE_ROOTFS/$(basename "${ref%%:*}").log)"; }
  "$setup" "$d" post
  slim "$d"
  : >"$d/etc/resolv.conf"
  oci_pack "$ref" "$d" "$cfg"
  stamp "$ref" "$st"
  rm -rf "$d"
}

# The official images' users: postgres 70 (alpine), clickhouse 101, redis
# 999 and nats 1000 run without a passwd entry of their own; initdb and
# clickhouse-server need one, so Debian's users take the official ids.
setup_postgres() {
  case $2 in
  pre)
    # No cluster at install time: the entrypoint makes one in PGDATA.
    mkdir -p "$1/etc/postgresql-common"
    echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.conf"
    chroot "$1" groupadd --system --gid 70 postgres
    chroot "$1" useradd --system --uid 70 --gid 70 --home-dir /var/lib/postgresql --shell /bin/bash postgres
    ;;
  post)
    install -m 0755 "$STANDIN/postgres-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint.sh"
    mkdir -p "$1/var/lib/postgresql/data" "$1/var/run/postgresql"
    chown -R 70:70 "$1/var/lib/postgresql" "$1/var/run/postgresql"
    ;;
  esac
}

setup_clickhouse() {
  case $2 in
  pre)
    chroot "$1" groupadd --system --gid 101 clickhouse
    chroot "$1" useradd --system --uid 101 --gid 101 --home-dir /var/lib/clickhouse --shell /bin/false clickhouse
    ;;
  post)
    # Debian's package ships neither directory; the chart mounts files into both.
    mkdir -p "$1/etc/clickhouse-server/config.d" "$1/etc/clickhouse-server/users.d"
    install -m 0644 "$STANDIN/clickhouse-docker_related_config.xml" "$1/etc/clickhouse-server/config.d/docker_related_config.xml"
    install -m 0755 "$STANDIN/clickhouse-entrypoint.sh" "$1/entrypoint.sh"
    mkdir -p "$1/var/lib/clickhouse" "$1/var/log/clickhouse-server"
    chown -R 101:101 "$1/var/lib/clickhouse" "$1/var/log/clickhouse-server"
    ;;
  esac
}

setup_none() { :; }

# busybox_standin: Debian's static busybox alone, its applets (sh, wget,
# nc, ...) as links, like the official image.
busybox_standin() {
  local st d deb
  st="busybox-static $(apt-cache policy busybox-static 2>/dev/null | awk '/Candidate/ {print $2}') $(cat "$STANDIN"/busybox-* | sha256sum | cut -c1-16)"
  fresh "$BUSYBOX_IMAGE" "$st" && return 0
  log "building the stand-in $BUSYBOX_IMAGE from Debian's busybox-static"
  d=$(mktemp -d "$CACHE_ROOTFS/.standin.XXXXXX")
  (cd "$d" && apt-get download -qq busybox-static >/dev/null 2>&1) ||
    { as_root apt-get -o DPkg::Lock::Timeout=600 update -qq && (cd "$d" && apt-get download -qq busybox-static >/dev/null 2>&1); } ||
    die "cannot download Debian's busybox-static"
  deb=$(ls "$d"/busybox-static_*.deb)
  mkdir -p "$d/root"
  dpkg-deb -x "$deb" "$d/root"
  local a
  for a in $("$d/root/bin/busybox" --list); do
    [[ -e $d/root/bin/$a ]] || ln -s busybox "$d/root/bin/$a"
  done
  rm -f "$d/root/bin/wget"
  install -m 0755 "$STANDIN/busybox-wget" "$d/root/bin/wget"
  mkdir -p "$d/root/etc" "$d/root/tmp"
  chmod 1777 "$d/root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$d/root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$d/root/etc/group"
  rm -rf "$d/root/usr/share"
  oci_pack "$BUSYBOX_IMAGE" "$d/root" '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
  stamp "$BUSYBOX_IMAGE" "$st"
  rm -rf "$d"
}

build_standins() {
  local path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  standin postgres "$POSTGRES_IMAGE" "postgresql-15" setup_postgres \
    '{"Entrypoint":["/usr/local/bin/docker-entrypoint.sh"],"Cmd":["postgres"],"Env":["PATH=/usr/lib/postgresql/15/bin:'"$path"'","PGDATA=/var/lib/postgresql/data"],"StopSignal":"SIGINT","ExposedPorts":{"5432/tcp":{}}}'
  standin redis "$REDIS_IMAGE" "redis-server" setup_none \
    '{"Cmd":["redis-server"],"Env":["PATH='"$path"'"],"WorkingDir":"/data","ExposedPorts":{"6379/tcp":{}}}'
  standin nats "$NATS_IMAGE" "nats-server" setup_none \
    '{"Entrypoint":["/usr/sbin/nats-server"],"Env":["PATH='"$path"'"],"ExposedPorts":{"4222/tcp":{},"8222/tcp":{}}}'
  standin clickhouse "$CLICKHOUSE_IMAGE" "clickhouse-server clickhouse-client" setup_clickhouse \
    '{"Entrypoint":["/entrypoint.sh"],"Cmd":["--config-file=/etc/clickhouse-server/config.xml"],"Env":["PATH='"$path"'"],"ExposedPorts":{"9000/tcp":{},"8123/tcp":{}}}'
  busybox_standin
}

main() {
  [[ $EUID -eq 0 ]] || die "images.sh needs root (debootstrap, chroot and image file owners)"
  # Work directories of an interrupted run.
  rm -rf "$CACHE_ROOTFS"/.standin.* "$CACHE_IMAGES"/.pack.* "$CACHE_IMAGES"/.root.* "$CACHE_IMAGES"/.services.*
  case ${1:-all} in
  services) build_services ;;
  cluster) build_cluster_images ;;
  standins) build_standins ;;
  all) build_cluster_images; build_standins; build_services ;;
  *) die "usage: images.sh [all|services|cluster|standins]" ;;
  esac
}

main "$@"
