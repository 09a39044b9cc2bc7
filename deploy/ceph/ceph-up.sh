#!/usr/bin/env bash
# ceph-up.sh: a single-node Ceph (Pacific) cluster on 127.0.0.1 for Scoria's RBD tests and for
# developers: 1 mon, 1 mgr, 1 memstore OSD, cephx on, pool `volumes`, and a `client.cinder` key
# with the caps a real Cinder rbd_user has: `profile rbd` on its pool, and `profile rbd-read-only`
# on Glance's pool `images` (made by deploy/glance/glance-up.sh), so that volumes can be
# copy-on-write clones of Glance's images; and pool `backups` for the ceph backup driver, on
# which client.cinder is also the backup user (backup_ceph_user, `profile rbd pool=backups`, as
# Cinder's docs give client.cinder-backup). The pool and caps are set on every run: a cluster
# made by an older version of this script gets them too. Everything (conf, keyrings, data, logs,
# sockets, PIDs) lives in one directory; nothing is written to /etc/ceph or /var/lib/ceph.
#
#   deploy/ceph/ceph-up.sh            # install the packages if missing, bring the cluster up
#   deploy/ceph/ceph-down.sh          # stop its daemons by their recorded PIDs
#
# Idempotent: when the cluster in DIR already answers a real I/O probe it does nothing. A
# stopped cluster is restarted with its data (memstore dumps on a clean stop); a cluster whose
# data is gone or whose start fails is made anew. Every wait is bounded; the whole script
# gives up after CEPH_UP_TIMEOUT seconds.
#
# Environment (defaults in brackets):
#   CEPH_DIR         the cluster's directory [/tmp/scoria-ceph]
#   CEPH_MON_PORT    the mon's msgr2 port [3300];  CEPH_MON_PORT_V1 its v1 port [6789]
#   CEPH_POOL        the pool made for volumes [volumes]
#   CEPH_IMAGES_POOL Glance's pool, which client.cinder may read [images]
#   CEPH_BACKUP_POOL the pool made for backups (backup_ceph_pool) [backups]
#   CEPH_FRESH=1     stop and wipe the cluster in DIR first
#   CEPH_INSTALL=0   never run apt-get (fail when the packages are missing)
#   CEPH_UP_TIMEOUT  seconds the whole bring-up may take [240]
#
# On success it prints the shell lines a test run exports (also written to DIR/env):
#   SCORIA_TEST_CEPH_CONF=DIR/ceph.conf  SCORIA_TEST_CEPH_USER=cinder
#   SCORIA_TEST_CEPH_KEYRING=DIR/ceph.client.cinder.keyring  SCORIA_TEST_CEPH_POOL=volumes
#   SCORIA_TEST_CEPH_BACKUP_POOL=backups
# Never export CEPH_KEYRING: librados and the ceph CLI let it override every --keyring.
set -euo pipefail

DIR=${CEPH_DIR:-/tmp/scoria-ceph}
MON_PORT=${CEPH_MON_PORT:-3300}
MON_PORT_V1=${CEPH_MON_PORT_V1:-6789}
POOL=${CEPH_POOL:-volumes}
IMAGES_POOL=${CEPH_IMAGES_POOL:-images}
BACKUP_POOL=${CEPH_BACKUP_POOL:-backups}
TIMEOUT=${CEPH_UP_TIMEOUT:-240}
PKGS=(ceph-mon ceph-osd ceph-mgr ceph-common librados-dev librbd-dev)
unset CEPH_KEYRING CEPH_ARGS

START=$SECONDS
log() { echo "ceph-up: $*" >&2; }
die() { log "$*"; [ -d "$DIR/log" ] && tail -n 20 "$DIR"/log/*.log >&2 2>/dev/null; exit 1; }
left() { echo $((TIMEOUT - (SECONDS - START))); }
# ceph_admin runs the ceph CLI as client.admin with a bounded time.
ceph_admin() { timeout 30 ceph --conf "$DIR/ceph.conf" --name client.admin --keyring "$DIR/ceph.client.admin.keyring" --connect-timeout 10 "$@"; }
# wait_for NAME SECONDS CMD...: run CMD every second until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local until=$((SECONDS + secs))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$SECONDS" -ge "$until" ] && die "$what: not ready after ${secs}s"
    [ "$(left)" -le 0 ] && die "$what: gave up, the bring-up took more than ${TIMEOUT}s"
    sleep 1
  done
}

install_packages() {
  local missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "${CEPH_INSTALL:-1}" = 0 ] && die "missing packages: ${missing[*]} (CEPH_INSTALL=0)"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  # No recommends: 86 packages instead of ~100. Postinst scripts cannot start daemons here.
  timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${PKGS[@]}" >/dev/null
}

# alive NAME: the daemon's recorded PID is a running (not zombie) process of that daemon.
alive() {
  local pid stat
  pid=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  case "$stat" in "$pid (ceph-${1%%.*}) "[!Z]*) return 0 ;; esac
  return 1
}

# probe: a real write/stat/remove through the OSD, as client.cinder; a stale mon digest can say
# HEALTH_OK while I/O hangs, this cannot.
probe() {
  local obj="scoria-probe-$$"
  # rados has no --connect-timeout: client_mount_timeout and rados_*_op_timeout bound it.
  timeout 15 rados --conf "$DIR/ceph.conf" --id cinder --keyring "$DIR/ceph.client.cinder.keyring" -p "$POOL" put "$obj" "$DIR/ceph.conf" &&
  timeout 15 rados --conf "$DIR/ceph.conf" --id cinder --keyring "$DIR/ceph.client.cinder.keyring" -p "$POOL" stat "$obj" &&
  timeout 15 rados --conf "$DIR/ceph.conf" --id cinder --keyring "$DIR/ceph.client.cinder.keyring" -p "$POOL" rm "$obj"
}

# healthy: HEALTH_OK (or only old crash reports), a mgr available (stats and df need it),
# every PG active+clean.
healthy() {
  local s
  s=$(ceph_admin status --format json 2>/dev/null) || return 1
  python3 -c '
import json, sys
s = json.loads(sys.argv[1])
# A crash report of an earlier, killed daemon (RECENT_CRASH) keeps a cluster at HEALTH_WARN
# for two weeks; it says nothing about the cluster now.
checks = set(s["health"].get("checks", {})) - {"RECENT_CRASH"}
ok = (s["health"]["status"] == "HEALTH_OK" or not checks) and s["mgrmap"]["available"]
pg = s["pgmap"]
states = {x["state_name"]: x["count"] for x in pg.get("pgs_by_state", [])}
ok = ok and pg["num_pgs"] > 0 and states.get("active+clean", 0) == pg["num_pgs"]
sys.exit(0 if ok else 1)' "$s"
}

# grant_cinder_caps: Cinder's documented caps for its rbd_user, and for its backup user on the
# backup pool (idempotent; a pool named in a cap need not exist yet).
grant_cinder_caps() {
  local out
  out=$(ceph_admin auth caps client.cinder mon 'profile rbd' \
    osd "profile rbd pool=$POOL, profile rbd pool=$BACKUP_POOL, profile rbd-read-only pool=$IMAGES_POOL" \
    mgr "profile rbd pool=$POOL, profile rbd pool=$BACKUP_POOL" 2>&1) ||
    { log "auth caps client.cinder: $out"; return 1; }
}

# ensure_backup_pool: the backup pool, made and initialised for RBD when missing (idempotent).
ensure_backup_pool() {
  ceph_admin osd pool ls 2>/dev/null | grep -qx "$BACKUP_POOL" && return 0
  ceph_admin osd pool create "$BACKUP_POOL" 16 16 >/dev/null 2>&1 || return 1
  timeout 60 rbd --conf "$DIR/ceph.conf" --name client.admin --keyring "$DIR/ceph.client.admin.keyring" \
    pool init "$BACKUP_POOL"
}

osd_up() { ceph_admin osd stat --format json 2>/dev/null | grep -q '"num_up_osds":1'; }

print_env() {
  cat >"$DIR/env" <<EOF
SCORIA_TEST_CEPH_CONF=$DIR/ceph.conf
SCORIA_TEST_CEPH_USER=cinder
SCORIA_TEST_CEPH_KEYRING=$DIR/ceph.client.cinder.keyring
SCORIA_TEST_CEPH_POOL=$POOL
SCORIA_TEST_CEPH_BACKUP_POOL=$BACKUP_POOL
EOF
  cat "$DIR/env"
}

start_daemon() { # name binary id
  local name=$1 bin=$2 id=$3
  alive "$name" && return 0
  # setsid: the daemon leaves the caller's process group, so a CI step's end does not kill it.
  setsid "$bin" -f --conf "$DIR/ceph.conf" -i "$id" >>"$DIR/log/$name.out" 2>&1 </dev/null &
  echo $! >"$DIR/run/$name.pid"
}

start_all() {
  start_daemon mon.a ceph-mon a
  wait_for "mon quorum" 30 ceph_admin mon stat
  start_daemon mgr.x ceph-mgr x
  start_daemon osd.0 ceph-osd 0
}

write_conf() {
  mkdir -p "$DIR"/{mon,mgr,osd,log,run,crash}
  cat >"$DIR/ceph.conf" <<EOF
# Written by Scoria's deploy/ceph/ceph-up.sh: a single-node test cluster on loopback.
[global]
fsid = $FSID
mon_initial_members = a
mon_host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mgr_initial_modules = iostat
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.asok
log_file = $DIR/log/\$cluster-\$name.log
crash_dir = $DIR/crash
[client.admin]
keyring = $DIR/ceph.client.admin.keyring

[client.cinder]
keyring = $DIR/ceph.client.cinder.keyring

[global]
# Clients of this cluster fail fast instead of hanging when it is gone.
client_mount_timeout = 15
rados_mon_op_timeout = 15
rados_osd_op_timeout = 15

[mon]
mon_data = $DIR/mon/\$cluster-\$id
mon_cluster_log_file = $DIR/log/\$cluster.log

[mgr]
mgr_data = $DIR/mgr/\$cluster-\$id

[osd]
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = 10737418240
# memstore dumps its contents only on a clean stop; Pacific's fast shutdown skips that.
osd_fast_shutdown = false
EOF
}

make_cluster() {
  log "creating a cluster in $DIR"
  FSID=$(cat /proc/sys/kernel/random/uuid)
  write_conf
  local kr=$DIR/ceph.client.admin.keyring
  ceph-authtool --create-keyring "$DIR/ceph.mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$kr" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/ceph.mon.keyring" --import-keyring "$kr" >/dev/null
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]" "$DIR/monmap" >/dev/null
  timeout 60 ceph-mon --conf "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/ceph.mon.keyring"
  start_daemon mon.a ceph-mon a
  wait_for "mon quorum" 30 ceph_admin mon stat

  mkdir -p "$DIR/mgr/ceph-x"
  ceph_admin auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$DIR/mgr/ceph-x/keyring"
  start_daemon mgr.x ceph-mgr x

  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  local id
  id=$(ceph_admin osd new "$uuid")
  [ "$id" = 0 ] || die "ceph osd new gave id $id, want 0"
  mkdir -p "$DIR/osd/ceph-0"
  # cephx is on and the OSD's key is not registered yet: skip fetching the mon config.
  timeout 60 ceph-osd --conf "$DIR/ceph.conf" -i 0 --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" \
    >>"$DIR/log/osd-mkfs.out" 2>&1 || die "ceph-osd --mkfs failed (see $DIR/log/osd-mkfs.out)"
  ceph_admin auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$DIR/osd/ceph-0/keyring" >/dev/null 2>&1
  start_daemon osd.0 ceph-osd 0
  wait_for "osd.0 up" 60 osd_up

  ceph_admin osd pool create "$POOL" 32 32 >/dev/null 2>&1
  timeout 60 rbd --conf "$DIR/ceph.conf" --name client.admin --keyring "$DIR/ceph.client.admin.keyring" pool init "$POOL"
  ceph_admin auth get-or-create client.cinder mon 'profile rbd' osd "profile rbd pool=$POOL" \
    mgr "profile rbd pool=$POOL" -o "$DIR/ceph.client.cinder.keyring"
  grant_cinder_caps
  touch "$DIR/made"
}

# ------------------------------------------------------------------------------------------
install_packages

if [ "${CEPH_FRESH:-0}" = 1 ] && [ -d "$DIR" ]; then
  "$(dirname "$0")/ceph-down.sh"
  rm -rf "$DIR"
fi

if [ -f "$DIR/made" ] && alive mon.a && alive mgr.x && alive osd.0 && probe >/dev/null 2>&1; then
  ensure_backup_pool || die "cannot make pool $BACKUP_POOL"
  grant_cinder_caps || die "cannot set the caps of client.cinder"
  log "already up in $DIR"
  print_env
  exit 0
fi

if [ -f "$DIR/made" ]; then
  log "restarting the cluster in $DIR"
  FSID=$(awk '$1 == "fsid" {print $3}' "$DIR/ceph.conf")
  write_conf # the settings of this version of the script
  if ! (start_all && wait_for "cluster restart" 60 probe); then
    log "restart failed: making the cluster anew"
    "$(dirname "$0")/ceph-down.sh"
    rm -rf "$DIR"
  fi
fi

if [ ! -f "$DIR/made" ]; then
  for p in "$MON_PORT" "$MON_PORT_V1"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "127.0.0.1:$p is taken by another process (another cluster?): set CEPH_MON_PORT/CEPH_MON_PORT_V1"
    fi
  done
  rm -rf "$DIR"
  make_cluster
fi

wait_for "HEALTH_OK, mgr available, PGs active+clean" "$(left)" healthy
wait_for "I/O probe on pool $POOL" "$(left)" probe
ensure_backup_pool || die "cannot make pool $BACKUP_POOL"
grant_cinder_caps || die "cannot set the caps of client.cinder"
log "up in $((SECONDS - START))s: $DIR"
print_env
