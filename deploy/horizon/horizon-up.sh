#!/usr/bin/env bash
# horizon-up.sh: install Debian's OpenStack dashboard (Horizon) and headless Chromium with its
# WebDriver for test/horizon, and configure Horizon for the test Keystone on 127.0.0.1:5000.
# Idempotent and bounded; starts nothing: test/horizon runs Horizon's runserver itself, on a
# fresh port, and stops it.
#
#   Debian packages  openstack-dashboard chromium chromium-driver python3-selenium
#                    fonts-liberation (no recommends: they pull avahi and cups daemons)
#   Settings         /etc/openstack-dashboard/local_settings.d/_9999_scoria_test.py, read after
#                    Debian's local_settings.py and its snippets (whose DEBUG = False it undoes:
#                    Horizon logs the cinderclient's requests only with DEBUG on). Each run of the
#                    test picks its region and state directory through the environment:
#                      SCORIA_HORIZON_REGION     the region whose volumev3 endpoint is Scoria's
#                                                (DEFAULT_SERVICE_REGIONS) [RegionOne]
#                      SCORIA_HORIZON_STATE_DIR  sessions/ and cinderclient.log (every Block
#                                                Storage request and answer) [/var/lib/openstack-dashboard/scoria]
#                      SCORIA_HORIZON_KEYSTONE   Keystone v3 URL [http://127.0.0.1:5000/v3]
#
# Serve by hand (then log in at http://127.0.0.1:8080/ as admin / admin-secret):
#   SCORIA_HORIZON_REGION=RegionOne /usr/bin/python3 /usr/share/openstack-dashboard/manage.py \
#     runserver 127.0.0.1:8080 --insecure --noreload
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
say() { echo "horizon-up: $*"; }
die() { echo "horizon-up: $*" >&2; exit 1; }

pkgs=(openstack-dashboard chromium chromium-driver python3-selenium fonts-liberation)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  timeout 600 apt-get update -qq
  timeout 1200 apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi

snippet=/etc/openstack-dashboard/local_settings.d/_9999_scoria_test.py
want="$(cat <<'PY'
# Written by Scoria's deploy/horizon/horizon-up.sh: Horizon for test/horizon, on loopback,
# against the test Keystone, with no memcached (file sessions, local-memory cache).
# Executed by openstack_dashboard/settings.py after local_settings.py and Debian's snippets.
import os as _os

_state = _os.environ.get("SCORIA_HORIZON_STATE_DIR", "/var/lib/openstack-dashboard/scoria")
_os.makedirs(_os.path.join(_state, "sessions"), exist_ok=True)

# Debian's _0001_debian_debug.py says False; cinderclient logs its HTTP only when DEBUG is on
# (openstack_dashboard/api/cinder.py: http_log_debug=settings.DEBUG). The compressed assets
# made at install time are still used.
DEBUG = True
COMPRESS_ENABLED = True
ALLOWED_HOSTS = ["*"]
OPENSTACK_KEYSTONE_URL = _os.environ.get("SCORIA_HORIZON_KEYSTONE", "http://127.0.0.1:5000/v3")
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_API_VERSIONS = {"identity": 3, "volume": 3}
# Identity is only in RegionOne; every other service is taken from this region. The login
# keeps the Keystone URL with a trailing slash (session['region_endpoint']): both spellings.
_region = _os.environ.get("SCORIA_HORIZON_REGION", "RegionOne")
DEFAULT_SERVICE_REGIONS = {OPENSTACK_KEYSTONE_URL.rstrip("/"): _region,
                           OPENSTACK_KEYSTONE_URL.rstrip("/") + "/": _region, "*": _region}
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = _os.path.join(_state, "sessions")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING["handlers"]["scoria_cinder"] = {
    "level": "DEBUG",
    "class": "logging.FileHandler",
    "filename": _os.path.join(_state, "cinderclient.log"),
    "formatter": "scoria_cinder",
}
LOGGING["formatters"]["scoria_cinder"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
for _name in ("cinderclient", "openstack_dashboard.api.cinder"):
    LOGGING["loggers"][_name] = {"handlers": ["scoria_cinder", "console"], "level": "DEBUG", "propagate": False}
PY
)"
if [ "$(cat "$snippet" 2>/dev/null)" != "$want" ]; then
  say "writing $snippet"
  printf '%s\n' "$want" >"$snippet"
fi

# Check that Horizon loads these settings (bounded: a broken install shows here, not in a test).
check_dir="$(mktemp -d)"
SCORIA_HORIZON_STATE_DIR="$check_dir" timeout 120 /usr/bin/python3 /usr/share/openstack-dashboard/manage.py \
  check >/dev/null 2>&1 || { rm -rf "$check_dir"; die "Horizon's settings do not load: run manage.py check"; }
rm -rf "$check_dir"
for b in /usr/bin/chromium /usr/bin/chromedriver; do [ -x "$b" ] || die "$b is missing"; done
/usr/bin/python3 -c 'import selenium' || die "python3-selenium is missing"
say "ready"
