#!/usr/bin/env bash
# barbican-up.sh: bring a test Barbican (OpenStack Key Manager API v1) up on 127.0.0.1:9311 on
# the test Keystone, for Scoria's encrypted-volume tests.
#
# Installs Debian's barbican-api (its database set-up and endpoint registration declined
# through debconf), python3-barbicanclient (`openstack secret …`) and uwsgi-plugin-python3
# when missing; keeps Barbican's data in SQLite (/var/lib/barbican/scoria.sqlite) with the
# simple_crypto plugin; serves barbican-wsgi-api with uwsgi (no Apache); validates tokens on
# the test Keystone with a service user `barbican` (project service, role admin); enforces
# Barbican's new policy defaults so that the `member` role may create and delete secrets;
# registers the key-manager service with public/internal/admin endpoints in RegionOne.
# Needs Keystone up first (deploy/keystone/keystone-up.sh). Idempotent and bounded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
admin_pass="${SCORIA_KEYSTONE_ADMIN_PASSWORD:-admin-secret}"
service_pass="barbican-secret"
conf=/etc/barbican/barbican.conf
ini=/etc/barbican/scoria-barbican-uwsgi.ini
log_dir=/var/log/barbican
url=http://127.0.0.1:9311

say() { echo "barbican-up: $*"; }
die() { echo "barbican-up: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers() { curl -fsS -m 5 -o /dev/null "$url/" 2>/dev/null || [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/")" = 300 ]; }

curl -fsS -m 5 -o /dev/null http://127.0.0.1:5000/v3 || die "Keystone does not answer on 127.0.0.1:5000"

# 1. Packages (dbconfig-common would want a database: declined, Barbican's own is SQLite).
pkgs=(barbican-api python3-barbicanclient uwsgi-plugin-python3 curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  debconf-set-selections <<'EOF2'
barbican-common barbican/configure_db boolean false
barbican-common barbican-common/dbconfig-install boolean false
barbican-api barbican/register-endpoint boolean false
EOF2
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Configuration: a fixed key-encryption key, test-only.
kek_file=/etc/barbican/scoria-kek
[ -s "$kek_file" ] || { head -c 32 /dev/urandom | base64 >"$kek_file"; chmod 600 "$kek_file"; }
want_conf="$(cat <<EOF2
# Written by Scoria's deploy/barbican/barbican-up.sh: a test Barbican on loopback.
[DEFAULT]
host_href = ${url}
log_dir = ${log_dir}
sql_connection = sqlite:////var/lib/barbican/scoria.sqlite
db_auto_create = False
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
auth_url = http://127.0.0.1:5000
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = barbican
password = ${service_pass}
region_name = RegionOne
[keystone_notifications]
enable = False
[oslo_policy]
enforce_new_defaults = True
enforce_scope = False
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = $(cat "$kek_file")
EOF2
)"
if [ "$(cat "$conf" 2>/dev/null)" != "$want_conf" ]; then
  [ -f "$conf" ] && [ ! -f "$conf.debian" ] && cp "$conf" "$conf.debian"
  printf '%s\n' "$want_conf" >"$conf"
  chown root:barbican "$conf" && chmod 640 "$conf"
fi
mkdir -p "$log_dir" /var/lib/barbican && chown -R barbican:barbican "$log_dir" /var/lib/barbican
say "db upgrade"
timeout 180 su -s /bin/sh barbican -c "barbican-manage db upgrade" >/dev/null 2>&1 ||
  die "barbican-manage db upgrade failed (see ${log_dir})"

# 3. Keystone: the service user, the key-manager service and its endpoints.
timeout 120 python3 "$here/setup_keystone.py" --admin-password "$admin_pass" --service-password "$service_pass" --url "$url"

# 4. uwsgi serving the WSGI application.
cat >"$ini" <<EOF2
[uwsgi]
http-socket = 127.0.0.1:9311
plugins = python3
wsgi-file = /usr/bin/barbican-wsgi-api
master = true
processes = 1
threads = 4
uid = barbican
gid = barbican
chdir = /var/lib/barbican
lazy-apps = true
buffer-size = 65535
add-header = Connection: close
pidfile = /run/scoria-barbican-uwsgi.pid
daemonize = ${log_dir}/uwsgi.log
EOF2
if ! answers; then
  if port_open 9311; then die "127.0.0.1:9311 is taken by something that is not Barbican"; fi
  say "starting uwsgi"
  uwsgi --ini "$ini"
  for _ in $(seq 1 60); do answers && break; sleep 1; done
  answers || die "Barbican did not answer on 127.0.0.1:9311 within 60 s (see ${log_dir}/uwsgi.log)"
fi
say "ready: ${url}"
