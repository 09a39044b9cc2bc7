#!/usr/bin/env bash
# glance-up.sh: bring a test Glance (OpenStack Image API v2, Debian 12's glance-api, Zed) up on
# 127.0.0.1:9292 on the test Keystone, for Scoria's image tests (volumes from images, upload to
# image, RBD copy-on-write clones).
#
# Installs glance-api and python3-glance-store when missing (Debian's database, RabbitMQ and
# Keystone questions declined through debconf); keeps Glance's data in the machine's MariaDB
# (root without a password on 127.0.0.1:3306, database "glance"); two stores (multi-store):
#   file  a directory of its own, $GLANCE_DIR/images (the default store)
#   ceph  RBD pool `images` on the test Ceph cluster of deploy/ceph/ceph-up.sh ($CEPH_DIR), with
#         a client.glance key of its own (`profile rbd pool=images`); Cinder's client.cinder may
#         read the pool (`profile rbd-read-only pool=images`, granted by deploy/ceph/ceph-up.sh) to
#         clone volumes from its images
# with show_multiple_locations and show_image_direct_url on (the locations and direct_url,
# rbd://fsid/pool/image/snap, that Cinder's RBD clone path reads); validates tokens on the test
# Keystone with a service user `glance` (project service, role admin); Glance's new policy
# defaults, so a `member` may create, deactivate and reactivate its images; registers the image
# service with public and internal endpoints in RegionOne. Runs glance-api itself (eventlet,
# workers = 0: one process) as the glance user, recorded by PID; deploy/glance/glance-down.sh
# stops it. Needs Keystone (deploy/keystone/keystone-up.sh), MariaDB and Ceph up first.
#
# Idempotent: a Glance that answers, runs from the PID recorded here and was started with the
# same configuration is left alone; one started with another configuration is restarted.
# Bounded: every step has a time limit.
#
# Environment (defaults in brackets):
#   GLANCE_DIR    data, configuration, logs, PID, env file [/tmp/scoria-glance]
#   GLANCE_PORT   the API port [9292]
#   CEPH_DIR      the test Ceph cluster's directory [/tmp/scoria-ceph]
#   GLANCE_RBD=0  no ceph store (file only) — for a machine without Ceph
#   SCORIA_KEYSTONE_ADMIN_PASSWORD  the test Keystone's admin password [admin-secret]
#
# On success it writes $GLANCE_DIR/env, the lines a test run exports:
#   SCORIA_TEST_GLANCE_URL=http://127.0.0.1:9292  SCORIA_TEST_GLANCE_STORES=file,ceph
#   SCORIA_TEST_GLANCE_CEPH_CONF / _CEPH_USER / _CEPH_KEYRING / _RBD_POOL (the ceph store)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
unset CEPH_KEYRING CEPH_ARGS

DIR=${GLANCE_DIR:-/tmp/scoria-glance}
PORT=${GLANCE_PORT:-9292}
CEPH_DIR=${CEPH_DIR:-/tmp/scoria-ceph}
RBD=${GLANCE_RBD:-1}
POOL=images
url=http://127.0.0.1:${PORT}
admin_pass="${SCORIA_KEYSTONE_ADMIN_PASSWORD:-admin-secret}"
service_pass="glance-secret"
db_pass="glance-db-secret"
conf=$DIR/glance-api.conf
pidfile=$DIR/run/glance-api.pid
shafile=$DIR/run/glance-api.conf.sha256
log=$DIR/log/glance-api.log

say() { echo "glance-up: $*"; }
die() { echo "glance-up: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Glance answers GET /versions with 200 without a token.
answers() { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/versions" 2>/dev/null)" = 200 ]; }
our_pid() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
ceph_admin() { timeout 30 ceph --conf "$CEPH_DIR/ceph.conf" --name client.admin --keyring "$CEPH_DIR/ceph.client.admin.keyring" --connect-timeout 10 "$@"; }

[ "$(id -u)" = 0 ] || die "needs root (packages, the glance user, MariaDB grants)"
curl -fsS -m 5 -o /dev/null http://127.0.0.1:5000/v3 || die "Keystone does not answer on 127.0.0.1:5000 (deploy/keystone/keystone-up.sh)"
port_open 3306 || die "MariaDB does not answer on 127.0.0.1:3306"

# 1. Packages. glance-api pulls python3-os-brick, hence open-iscsi, udev and systemd's
# packages; with policy-rc.d (or no init system) none of them starts a daemon.
pkgs=(glance-api python3-glance-store python3-pymysql python3-rbd python3-rados curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  debconf-set-selections <<'EOF2'
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
EOF2
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi
id glance >/dev/null 2>&1 || die "the package did not create the glance user"

# 2. Directories (the data is Glance's; the configuration holds passwords: root:glance 640).
mkdir -p "$DIR/images" "$DIR/staging" "$DIR/tasks" "$DIR/log" "$DIR/run" "$DIR/lock"
chown glance:glance "$DIR/images" "$DIR/staging" "$DIR/tasks" "$DIR/log" "$DIR/lock"

# 3. The ceph store: pool `images` and a client.glance key, on the running test cluster.
ceph_section=""
backends="file:file"
if [ "$RBD" = 1 ]; then
  [ -r "$CEPH_DIR/ceph.conf" ] && [ -r "$CEPH_DIR/ceph.client.admin.keyring" ] ||
    die "no test Ceph in $CEPH_DIR (deploy/ceph/ceph-up.sh), or GLANCE_RBD=0 for a file store only"
  ceph_admin health >/dev/null || die "the test Ceph in $CEPH_DIR does not answer"
  if ! ceph_admin osd pool ls | grep -qx "$POOL"; then
    say "creating the Ceph pool $POOL"
    ceph_admin osd pool create "$POOL" 8 8 >/dev/null 2>&1
    timeout 60 rbd --conf "$CEPH_DIR/ceph.conf" --name client.admin --keyring "$CEPH_DIR/ceph.client.admin.keyring" pool init "$POOL"
  fi
  ceph_admin auth get-or-create client.glance mon 'profile rbd' osd "profile rbd pool=$POOL" \
    mgr "profile rbd pool=$POOL" -o "$DIR/ceph.client.glance.keyring.new"
  mv "$DIR/ceph.client.glance.keyring.new" "$DIR/ceph.client.glance.keyring"
  chown root:glance "$DIR/ceph.client.glance.keyring" && chmod 640 "$DIR/ceph.client.glance.keyring"
  fsid=$(timeout 10 ceph-conf -c "$CEPH_DIR/ceph.conf" --lookup fsid)
  mon_host=$(timeout 10 ceph-conf -c "$CEPH_DIR/ceph.conf" --lookup mon_host)
  cat >"$DIR/ceph.conf" <<EOF2
# Written by Scoria's deploy/glance/glance-up.sh: how Glance's rbd store reaches the test Ceph.
[global]
fsid = ${fsid}
mon_host = ${mon_host}
auth_client_required = cephx
ms_bind_ipv6 = false
client_mount_timeout = 15
rados_mon_op_timeout = 15
rados_osd_op_timeout = 15
log_file = ${DIR}/log/ceph-\$name.log
[client.glance]
keyring = ${DIR}/ceph.client.glance.keyring
EOF2
  chmod 644 "$DIR/ceph.conf"
  backends="file:file, ceph:rbd"
  ceph_section="[ceph]
store_description = RBD pool ${POOL} on the test Ceph
rbd_store_pool = ${POOL}
rbd_store_user = glance
rbd_store_ceph_conf = ${DIR}/ceph.conf
rbd_store_chunk_size = 8
rados_connect_timeout = 15"
fi

# 4. Database.
timeout 60 mysql -uroot -h127.0.0.1 <<SQL
CREATE DATABASE IF NOT EXISTS glance;
CREATE USER IF NOT EXISTS 'glance'@'127.0.0.1' IDENTIFIED BY '${db_pass}';
CREATE USER IF NOT EXISTS 'glance'@'localhost' IDENTIFIED BY '${db_pass}';
GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'127.0.0.1';
GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'localhost';
SQL

# 5. Configuration (its own file: /etc/glance is left as the package made it).
want_conf="$(cat <<EOF2
# Written by Scoria's deploy/glance/glance-up.sh: a test Glance on loopback.
[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${PORT}
# One process with green threads: the PID recorded is all of Glance.
workers = 0
log_file = ${log}
show_multiple_locations = true
show_image_direct_url = true
enabled_backends = ${backends}
# Glance refuses to start unless this matches [oslo_policy] enforce_new_defaults.
enforce_secure_rbac = true
[database]
connection = mysql+pymysql://glance:${db_pass}@127.0.0.1/glance
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
auth_url = http://127.0.0.1:5000
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = ${service_pass}
region_name = RegionOne
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_policy]
enforce_new_defaults = True
enforce_scope = False
[oslo_concurrency]
lock_path = ${DIR}/lock
[glance_store]
default_backend = file
[file]
store_description = files in ${DIR}/images
filesystem_store_datadir = ${DIR}/images
${ceph_section}
[os_glance_staging_store]
filesystem_store_datadir = ${DIR}/staging
[os_glance_tasks_store]
filesystem_store_datadir = ${DIR}/tasks
EOF2
)"
if [ "$(cat "$conf" 2>/dev/null)" != "$want_conf" ]; then
  printf '%s\n' "$want_conf" >"$conf"
fi
chown root:glance "$conf" && chmod 640 "$conf"
want_sha=$(sha256sum "$conf" | cut -d' ' -f1)

# 6. Keystone: the service user, the image service and its endpoints.
timeout 120 python3 "$here/setup_keystone.py" --admin-password "$admin_pass" \
  --service-password "$service_pass" --url "$url"

# 7. Already up with this configuration: leave it alone.
if our_pid && answers && [ "$(cat "$shafile" 2>/dev/null)" = "$want_sha" ]; then
  say "already up (PID $(cat "$pidfile")): $url"
else
  if our_pid; then
    say "configuration changed: restarting PID $(cat "$pidfile")"
    "$here/glance-down.sh"
  fi
  if port_open "$PORT"; then die "127.0.0.1:$PORT is taken by something this script did not start"; fi
  say "db_sync"
  timeout 300 setpriv --reuid=glance --regid=glance --init-groups \
    glance-manage --config-file "$conf" db_sync >>"$DIR/log/glance-manage.log" 2>&1 ||
    die "glance-manage db_sync failed (see $DIR/log/glance-manage.log)"
  say "starting glance-api"
  setsid setpriv --reuid=glance --regid=glance --init-groups \
    glance-api --config-file "$conf" >>"$DIR/log/glance-api.stdout" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do answers && break; our_pid || break; sleep 1; done
  if ! answers; then
    tail -n 20 "$log" >&2 2>/dev/null || true
    die "Glance did not answer on $url within 60 s (see $log)"
  fi
  echo "$want_sha" >"$shafile"
fi

# 8. The env file the tests read.
{
  echo "SCORIA_TEST_GLANCE_URL=$url"
  if [ "$RBD" = 1 ]; then
    echo "SCORIA_TEST_GLANCE_STORES=file,ceph"
    echo "SCORIA_TEST_GLANCE_CEPH_CONF=$DIR/ceph.conf"
    echo "SCORIA_TEST_GLANCE_CEPH_USER=glance"
    echo "SCORIA_TEST_GLANCE_CEPH_KEYRING=$DIR/ceph.client.glance.keyring"
    echo "SCORIA_TEST_GLANCE_RBD_POOL=$POOL"
  else
    echo "SCORIA_TEST_GLANCE_STORES=file"
  fi
} >"$DIR/env.new" && mv "$DIR/env.new" "$DIR/env"
say "ready: $url"
