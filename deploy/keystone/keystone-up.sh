#!/usr/bin/env bash
# keystone-up.sh: bring a test Keystone up on 127.0.0.1:5000 for Scoria's keystone tests.
#
# Installs Debian's keystone, uwsgi-plugin-python3, python3-pymysql and python3-openstackclient
# when missing, keeps Keystone's data in the machine's MariaDB (root without a password on
# 127.0.0.1:3306, database "keystone"), serves keystone-wsgi-public with uwsgi, and creates the
# objects the tests use (see deploy/keystone/README.md and setup_objects.py). Idempotent: run
# it again and it only repairs what is missing. Bounded: every step has a time limit.
#
# Usage: keystone-up.sh [SCORIA_PORT]   (default 18776: the port the volumev3 / block-storage
# endpoints point at: http://127.0.0.1:SCORIA_PORT/v3/%(project_id)s)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scoria_port="${1:-${SCORIA_KEYSTONE_VOLUME_PORT:-18776}}"
export DEBIAN_FRONTEND=noninteractive

ks_db_pass="keystone-db-secret"
admin_pass="${SCORIA_KEYSTONE_ADMIN_PASSWORD:-admin-secret}"
conf=/etc/keystone/keystone.conf
uwsgi_ini=/etc/keystone/scoria-keystone-uwsgi.ini
log_dir=/var/log/keystone

say() { echo "keystone-up: $*"; }
die() { echo "keystone-up: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers() { curl -fsS -m 5 -o /dev/null http://127.0.0.1:5000/v3 2>/dev/null; }

# 1. Packages.
pkgs=(keystone uwsgi-plugin-python3 python3-pymysql python3-openstackclient curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Database and configuration.
port_open 3306 || die "MariaDB does not answer on 127.0.0.1:3306"
timeout 60 mysql -uroot -h127.0.0.1 <<SQL
CREATE DATABASE IF NOT EXISTS keystone;
CREATE USER IF NOT EXISTS 'keystone'@'127.0.0.1' IDENTIFIED BY '${ks_db_pass}';
CREATE USER IF NOT EXISTS 'keystone'@'localhost' IDENTIFIED BY '${ks_db_pass}';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'127.0.0.1';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost';
SQL

want_conf="$(cat <<EOF
# Written by Scoria's deploy/keystone/keystone-up.sh: a test Keystone on loopback.
[DEFAULT]
log_dir = ${log_dir}
[database]
connection = mysql+pymysql://keystone:${ks_db_pass}@127.0.0.1/keystone
[token]
provider = fernet
expiration = 3600
[catalog]
driver = sql
[fernet_tokens]
key_repository = /etc/keystone/fernet-keys/
[credential]
key_repository = /etc/keystone/credential-keys/
EOF
)"
if [ "$(cat "$conf" 2>/dev/null)" != "$want_conf" ]; then
  [ -f "$conf" ] && [ ! -f "$conf.debian" ] && cp "$conf" "$conf.debian"
  printf '%s\n' "$want_conf" >"$conf"
  chown root:keystone "$conf" && chmod 640 "$conf"
fi
mkdir -p "$log_dir" && chown -R keystone:keystone "$log_dir"

as_keystone() { timeout 180 su -s /bin/sh keystone -c "$*"; }
say "db_sync"
as_keystone "keystone-manage db_sync"
[ -f /etc/keystone/fernet-keys/0 ] || as_keystone "keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone"
[ -f /etc/keystone/credential-keys/0 ] || as_keystone "keystone-manage credential_setup --keystone-user keystone --keystone-group keystone"
say "bootstrap"
# An eventlet traceback at exit is harmless (keystone.md): judge by the exit status only.
as_keystone "keystone-manage bootstrap --bootstrap-password '${admin_pass}' \
  --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
  --bootstrap-public-url http://127.0.0.1:5000/v3/ --bootstrap-region-id RegionOne" >/dev/null 2>&1 ||
  die "keystone-manage bootstrap failed (see ${log_dir}/keystone-manage.log)"
chown -R keystone:keystone "$log_dir"

# 3. uwsgi serving the public WSGI application.
cat >"$uwsgi_ini" <<EOF
[uwsgi]
http-socket = 127.0.0.1:5000
plugins = python3
wsgi-file = /usr/bin/keystone-wsgi-public
master = true
processes = 2
threads = 4
uid = keystone
gid = keystone
lazy-apps = true
buffer-size = 65535
# python-requests' keep-alive got sporadic resets on POST /v3/auth/tokens without this.
add-header = Connection: close
pidfile = /run/scoria-keystone-uwsgi.pid
daemonize = ${log_dir}/uwsgi.log
EOF
if ! answers; then
  if port_open 5000; then die "127.0.0.1:5000 is taken by something that is not Keystone"; fi
  say "starting uwsgi"
  uwsgi --ini "$uwsgi_ini"
  for _ in $(seq 1 60); do answers && break; sleep 1; done
  answers || die "Keystone did not answer on 127.0.0.1:5000 within 60 s (see ${log_dir}/uwsgi.log)"
fi

# 4. Projects, users, roles, services and endpoints, in one Python run.
# A second Keystone process on 127.0.0.1:5001, on the same database and fernet keys, whose
# tokens expire 2 s after they are issued ([token] expiration in an extra config file): the
# tests take really expired tokens from it and present them to Scoria, whose validator asks
# the main Keystone on :5000, which refuses them as expired.
short_conf=/etc/keystone/scoria-short-tokens.conf
short_ini=/etc/keystone/scoria-keystone-short-uwsgi.ini
short_answers() { curl -fsS -m 5 -o /dev/null http://127.0.0.1:5001/v3 2>/dev/null; }
printf '[token]\nexpiration = 2\n' >"$short_conf"
chown root:keystone "$short_conf" && chmod 640 "$short_conf"
cat >"$short_ini" <<EOF
[uwsgi]
http-socket = 127.0.0.1:5001
plugins = python3
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=${conf};${short_conf}
master = true
processes = 1
threads = 2
uid = keystone
gid = keystone
lazy-apps = true
buffer-size = 65535
add-header = Connection: close
pidfile = /run/scoria-keystone-short-uwsgi.pid
daemonize = ${log_dir}/uwsgi-short.log
EOF
if ! short_answers; then
  if port_open 5001; then die "127.0.0.1:5001 is taken by something that is not Keystone"; fi
  say "starting the short-token Keystone on 127.0.0.1:5001"
  uwsgi --ini "$short_ini"
  for _ in $(seq 1 60); do short_answers && break; sleep 1; done
  short_answers || die "the short-token Keystone did not answer on 127.0.0.1:5001 within 60 s (see ${log_dir}/uwsgi-short.log)"
fi

say "objects (Scoria endpoints on port ${scoria_port})"
timeout 300 python3 "$here/setup_objects.py" --admin-password "$admin_pass" --scoria-port "$scoria_port"
say "ready: http://127.0.0.1:5000/v3"
