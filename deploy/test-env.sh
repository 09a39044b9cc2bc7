#!/usr/bin/env bash
# test-env.sh: install and start everything Scoria's test suite talks to, idempotently, so
# that `make test` on a fresh Debian 12 machine (as root) is the whole set-up. Run by `make
# test` before the tests; safe to run again (what is installed and answering is left alone).
#
#   Debian packages  python3-cinderclient python3-openstackclient mariadb-server
#                    rabbitmq-server lvm2 tgt libiscsi-bin qemu-utils qemu-block-extra
#                    (Keystone's and Ceph's are installed by their own scripts below)
#   MariaDB          127.0.0.1:3306, root without a password; max_connections 1000
#   RabbitMQ         127.0.0.1:5672, guest/guest, rabbitmqctl answering
#   Keystone         127.0.0.1:5000 (and the short-token one on :5001): deploy/keystone/keystone-up.sh
#   Barbican         127.0.0.1:9311, on that Keystone: deploy/barbican/barbican-up.sh
#   Horizon          packages and settings only (test/horizon serves it): deploy/horizon/horizon-up.sh
#   Ceph             single node in $CEPH_DIR [/tmp/scoria-ceph]: deploy/ceph/ceph-up.sh; its env
#                    file ($CEPH_DIR/env) tells the tests where it is
#   tgtd             127.0.0.1:3260
#
# SCORIA_TEST_SETUP=0 skips all of it (a machine set up some other way).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SCORIA_TEST_SETUP:-1}" = 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
log() { echo "test-env: $*" >&2; }

need_pkgs=(python3-cinderclient python3-openstackclient mariadb-server rabbitmq-server lvm2
  tgt libiscsi-bin qemu-utils qemu-block-extra)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port seconds
  for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
  log "$1 did not come up on 127.0.0.1:$2"; return 1
}

if ! port_open 3306; then
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_port MariaDB 3306 60
fi
if ! port_open 5672; then
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_port RabbitMQ 5672 90
fi
# The suite runs packages in parallel and the end-to-end tests start whole deployments (each
# process keeps a pool of up to 32 connections): MariaDB's default of 151 connections is
# too few for that, and a refused connection would fail a test for the wrong reason.
mysql -uroot -h127.0.0.1 -e "SET GLOBAL max_connections = 1000"
# The management of vhosts in tests needs rabbitmqctl to answer, not only the port.
for _ in $(seq 1 60); do rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done

# Keystone on 127.0.0.1:5000 for the keystone tests (internal/auth, internal/api, e2e):
# installs it when missing, bounded (about 20 s when installed).
timeout 1200 deploy/keystone/keystone-up.sh

# Barbican on 127.0.0.1:9311 (key-manager in the catalog) for encrypted volumes' keys
# (internal/keymanager, test/e2e): installs barbican-api when missing; sqlite, uwsgi.
timeout 1200 deploy/barbican/barbican-up.sh
# Horizon (Debian's openstack-dashboard), headless Chromium, chromedriver and python3-selenium
# for test/horizon, which starts and stops Horizon's runserver itself; installs when missing.
timeout 1500 deploy/horizon/horizon-up.sh

# Ceph: one single-node cluster (1 mon, 1 mgr, 1 memstore OSD, pool `volumes`, client.cinder)
# for the RBD driver's tests; one already up in CEPH_DIR is reused. Its packages include
# librados-dev/librbd-dev, so the test run that follows builds the RBD driver in.
CEPH_UP_TIMEOUT=${CEPH_UP_TIMEOUT:-300} deploy/ceph/ceph-up.sh >/dev/null

# iSCSI: tgtd has no init system here: start it on 127.0.0.1 and wait until tgtadm answers.
if ! tgtadm --lld iscsi --mode system --op show >/dev/null 2>&1; then
  log "starting tgtd"
  tgtd --iscsi portal=127.0.0.1:3260 # daemonizes
  for _ in $(seq 1 30); do tgtadm --lld iscsi --mode system --op show >/dev/null 2>&1 && break; sleep 1; done
  tgtadm --lld iscsi --mode system --op show >/dev/null || { log "tgtd does not answer"; exit 1; }
fi
log "ready"
