#!/usr/bin/env bash
# test-env.sh: install and start everything Scoria's test suite talks to, idempotently, so
# that `make test` on a fresh Debian 12 machine (as root) is the whole set-up. Run by `make
# test` before the tests; safe to run again (what is installed and answering is left alone).
#
#   Debian packages  python3-cinderclient python3-openstackclient python3-glanceclient mariadb-server
#                    rabbitmq-server lvm2 tgt libiscsi-bin qemu-utils qemu-block-extra zstd
#                    (Keystone's and Ceph's are installed by their own scripts below)
#   MariaDB          127.0.0.1:3306, root without a password; max_connections 1000
#   RabbitMQ         127.0.0.1:5672, guest/guest, rabbitmqctl answering
#   Keystone         127.0.0.1:5000 (and the short-token one on :5001): deploy/keystone/keystone-up.sh
#   Barbican         127.0.0.1:9311, on that Keystone: deploy/barbican/barbican-up.sh
#   Horizon          packages and settings only (test/horizon serves it): deploy/horizon/horizon-up.sh
#   Ceph             single node in $CEPH_DIR [/tmp/scoria-ceph]: deploy/ceph/ceph-up.sh; its env
#                    file ($CEPH_DIR/env) tells the tests where it is
#   tgtd             127.0.0.1:3260
#   NFS server       nfs-ganesha (NFSv3) + rpcbind on 127.0.0.1 exporting /export1 and /export2
#                    from $NFS_DIR [/tmp/scoria-nfs]: deploy/nfs/nfs-up.sh (installs nfs-ganesha,
#                    nfs-ganesha-vfs, rpcbind, libnfs-utils); its env file ($NFS_DIR/env) tells
#                    the tests where it is
#   Glance           glance-api (Zed) on 127.0.0.1:9292 with a file store and an rbd store on the
#                    test Ceph, on that Keystone and MariaDB: deploy/glance/glance-up.sh; its env
#                    file ($GLANCE_DIR/env [/tmp/scoria-glance/env]) tells the tests where it is
#
# Without root (and without password-less sudo) nothing is installed: the script names the
# packages it could not install, starts what it can, and the tests of what is missing skip
# (or fail, under CI=true). A step that fails is reported and the others still run; the
# script ends with a summary and, under CI=true, fails when any step failed.
#
# What it starts it records: PIDs in $SCORIA_TEST_STATE [/tmp/scoria-test-env] (MariaDB,
# RabbitMQ, tgtd), /run/scoria-*-uwsgi.pid (Keystone, Barbican), $CEPH_DIR/run (Ceph),
# $NFS_DIR/run (ganesha, rpcbind), $GLANCE_DIR/run (glance-api);
# deploy/test-env-down.sh (`make test-env-down`) stops exactly those, and nothing it found
# already running.
#
# SCORIA_TEST_SETUP=0 skips all of it (a machine set up some other way).
set -uo pipefail
cd "$(dirname "$0")/.."
[ "${SCORIA_TEST_SETUP:-1}" = 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
STATE=${SCORIA_TEST_STATE:-/tmp/scoria-test-env}
mkdir -p "$STATE"
log() { echo "test-env: $*" >&2; }
failed=()

# root: whether this run may install packages and start system daemons.
root=0
if [ "$(id -u)" = 0 ]; then root=1; fi

# step NAME COMMAND…: run one part of the set-up; a failure is reported, not fatal.
step() {
  local name=$1; shift
  if ! "$@"; then
    log "could not set up $name"
    failed+=("$name")
  fi
}

need_pkgs=(python3-cinderclient python3-openstackclient python3-glanceclient mariadb-server rabbitmq-server lvm2
  tgt libiscsi-bin qemu-utils qemu-block-extra zstd)
install_base() {
  local missing=() p
  for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $root = 0 ]; then
    log "not root: cannot install ${missing[*]} (as root: apt-get install ${missing[*]})"
    return 1
  fi
  log "installing ${missing[*]}"
  timeout 600 apt-get update -qq &&
    timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port seconds
  for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
  log "$1 did not come up on 127.0.0.1:$2"; return 1
}

mariadb_up() {
  if ! port_open 3306; then
    [ -x /usr/sbin/mariadbd ] || { log "MariaDB is not installed"; return 1; }
    log "starting MariaDB"
    if [ $root = 1 ]; then mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld; fi
    start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$STATE/mariadb.pid" \
      --exec /usr/sbin/mariadbd -- --user=mysql
    wait_port MariaDB 3306 60 || return 1
  fi
  # The suite runs packages in parallel and the end-to-end tests start whole deployments (each
  # process keeps a pool of up to 32 connections): MariaDB's default of 151 connections is
  # too few for that, and a refused connection would fail a test for the wrong reason.
  mysql -uroot -h127.0.0.1 -e "SET GLOBAL max_connections = 1000"
}

rabbitmq_up() {
  if ! port_open 5672; then
    command -v rabbitmq-server >/dev/null || { log "RabbitMQ is not installed"; return 1; }
    log "starting RabbitMQ"
    rabbitmq-server -detached || return 1
    wait_port RabbitMQ 5672 90 || return 1
    rabbitmqctl -q eval 'list_to_integer(os:getpid()).' >"$STATE/rabbitmq.pid" 2>/dev/null || true
  fi
  # The management of vhosts in tests needs rabbitmqctl to answer, not only the port; it
  # answers only users who can read the Erlang cookie (root), so others try once.
  local tries=30
  [ $root = 1 ] || tries=1
  for _ in $(seq 1 $tries); do timeout 20 rabbitmqctl -q status >/dev/null 2>&1 && return 0; sleep 1; done
  log "rabbitmqctl does not answer"; return 1
}

# iSCSI: tgtd has no init system here: start it on 127.0.0.1 and wait until tgtadm answers.
tgtd_up() {
  tgtadm --lld iscsi --mode system --op show >/dev/null 2>&1 && return 0
  command -v tgtd >/dev/null || { log "tgt is not installed"; return 1; }
  [ $root = 1 ] || { log "not root: cannot start tgtd"; return 1; }
  log "starting tgtd"
  tgtd --iscsi portal=127.0.0.1:3260 # daemonizes
  for _ in $(seq 1 30); do tgtadm --lld iscsi --mode system --op show >/dev/null 2>&1 && break; sleep 1; done
  tgtadm --lld iscsi --mode system --op show >/dev/null || { log "tgtd does not answer"; return 1; }
  pgrep -n -x tgtd >"$STATE/tgtd.pid" || true
}

# The component scripts install their own packages and write system configuration: without
# root, a component that already answers is used as it is, and another is reported missing.
# up_or NAME CHECK… -- SCRIPT…: as root run SCRIPT; otherwise only CHECK.
up_or() {
  local name=$1 check=() ; shift
  while [ "$1" != -- ]; do check+=("$1"); shift; done; shift
  if [ $root = 1 ]; then "$@"; return; fi
  if "${check[@]}"; then log "not root: using the $name that is already running"; return 0; fi
  log "not root: cannot install or start $name (as root: $*)"; return 1
}
horizon_ready() { command -v chromedriver >/dev/null && python3 -c 'import selenium, openstack_dashboard' 2>/dev/null; }
ceph_ready() { [ -r "$CEPH_DIR/env" ] && [ -r /usr/include/rados/librados.h ]; }
CEPH_DIR=${CEPH_DIR:-/tmp/scoria-ceph}
NFS_DIR=${NFS_DIR:-/tmp/scoria-nfs}
export NFS_DIR
nfs_ready() { [ -r "$NFS_DIR/env" ] && timeout 5 rpcinfo -t 127.0.0.1 nfs 3 >/dev/null 2>&1 && command -v nfs-ls >/dev/null; }

step "Debian packages" install_base
step MariaDB mariadb_up
step RabbitMQ rabbitmq_up
# Keystone on 127.0.0.1:5000 for the keystone tests (internal/auth, internal/api, e2e):
# installs it when missing, bounded (about 20 s when installed).
step Keystone up_or Keystone port_open 5000 -- timeout 1200 deploy/keystone/keystone-up.sh
# Barbican on 127.0.0.1:9311 (key-manager in the catalog) for encrypted volumes' keys
# (internal/keymanager, test/e2e): installs barbican-api when missing; sqlite, uwsgi.
step Barbican up_or Barbican port_open 9311 -- timeout 1200 deploy/barbican/barbican-up.sh
# Horizon (Debian's openstack-dashboard), headless Chromium, chromedriver and python3-selenium
# for test/horizon, which starts and stops Horizon's runserver itself; installs when missing.
step Horizon up_or Horizon horizon_ready -- timeout 1500 deploy/horizon/horizon-up.sh
# Ceph: one single-node cluster (1 mon, 1 mgr, 1 memstore OSD, pool `volumes`, client.cinder)
# for the RBD driver's tests; one already up in CEPH_DIR is reused. Its packages include
# librados-dev/librbd-dev, so the test run that follows builds the RBD driver in.
step Ceph up_or Ceph ceph_ready -- env CEPH_UP_TIMEOUT="${CEPH_UP_TIMEOUT:-300}" deploy/ceph/ceph-up.sh >/dev/null
step tgtd tgtd_up
# NFS: a real NFSv3 server (user-space nfs-ganesha, rpcbind kept on loopback) for the NFS
# driver's tests, which reach its exports through a bind mount (this kernel has no NFS client)
# and ask the server itself (internal/nfsjudge) what it holds; one already up is reused.
step "NFS server" up_or "NFS server" nfs_ready -- timeout 900 deploy/nfs/nfs-up.sh
# Glance: a real Image API v2 for the image tests (internal/glance), with a file store and an
# rbd store on the Ceph above; needs Keystone, MariaDB and Ceph; one already up is reused.
glance_ready() { [ -r "${GLANCE_DIR:-/tmp/scoria-glance}/env" ] && curl -fsS -m 5 -o /dev/null http://127.0.0.1:9292/versions; }
step Glance up_or Glance glance_ready -- timeout 1200 deploy/glance/glance-up.sh

if [ ${#failed[@]} -gt 0 ]; then
  log "not set up: ${failed[*]} — their tests skip, or fail under CI=true"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
log "ready"
