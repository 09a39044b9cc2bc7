#!/usr/bin/env bash
# glance-check.sh: prove the test Glance of glance-up.sh works end to end with the real
# `openstack` CLI as the test Keystone's demo user (alice, member of demo-a): for each store, a
# small qcow2 made with qemu-img (with a property) is created into that store (`openstack image
# create` into the default store, `glance image-create --store` into the other: the openstack
# CLI of Debian 12 has no --store for Image v2), shown (status,
# stores, direct_url/locations), downloaded, compared byte for byte, and deleted. For the ceph
# store it also checks that the RBD image and its protected snapshot `snap` exist in the pool.
# Exit status 0 only when every step passed.
set -euo pipefail
DIR=${GLANCE_DIR:-/tmp/scoria-glance}
# shellcheck disable=SC1091
. "$DIR/env"
export OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_USERNAME=alice OS_PASSWORD=alice-secret \
  OS_PROJECT_NAME=demo-a OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
  OS_IDENTITY_API_VERSION=3 OS_IMAGE_API_VERSION=2 OS_REGION_NAME=RegionOne
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "glance-check: $*"; }
die() { echo "glance-check: FAIL: $*" >&2; exit 1; }

qemu-img create -q -f qcow2 "$work/src.qcow2" 64M
qemu-io -f qcow2 -c 'write -P 0x5c 1M 3M' "$work/src.qcow2" >/dev/null
IFS=, read -r -a stores <<<"$SCORIA_TEST_GLANCE_STORES"
for store in "${stores[@]}"; do
  t0=$SECONDS
  if [ "$store" = file ]; then # the default store
    id=$(timeout 120 openstack image create --disk-format qcow2 --container-format bare \
      --property scoria_check=1 --file "$work/src.qcow2" -f value -c id "glance-check-$store-$$")
  else
    # python3-openstackclient 6.0 has no --store for Image v2: glanceclient's CLI has.
    id=$(timeout 120 glance image-create --store "$store" --disk-format qcow2 --container-format bare \
      --property scoria_check=1 --file "$work/src.qcow2" --name "glance-check-$store-$$" |
      awk '$2 == "id" {print $4}')
  fi
  [ -n "$id" ] || die "$store: no image id"
  timeout 60 openstack image show -f json "$id" >"$work/show.json"
  python3 - "$work/show.json" "$store" <<'PY'
import json, sys
img = json.load(open(sys.argv[1])); store = sys.argv[2]
props = img.get("properties") or {}
def fail(m): sys.exit(f"glance-check: FAIL: {store}: {m}: {json.dumps(img)[:600]}")
if img["status"] != "active": fail("status is not active")
if props.get("stores", img.get("stores")) != store: fail("not in store " + store)
if props.get("scoria_check") != "1": fail("property scoria_check missing")
locs = props.get("locations") or img.get("locations") or []
direct = props.get("direct_url") or img.get("direct_url") or ""
want = "rbd://" if store == "ceph" else "file://"
if not direct.startswith(want): fail("direct_url does not start with " + want)
if not any(l.get("url", "").startswith(want) for l in locs): fail("no location " + want)
print("glance-check: %s: active, size %s, direct_url %s" % (store, img["size"], direct))
PY
  timeout 120 openstack image save --file "$work/back" "$id"
  cmp "$work/src.qcow2" "$work/back" || die "$store: the downloaded bytes differ"
  if [ "$store" = ceph ]; then
    rbdc=(rbd --conf "$SCORIA_TEST_GLANCE_CEPH_CONF" --id "$SCORIA_TEST_GLANCE_CEPH_USER" --keyring "$SCORIA_TEST_GLANCE_CEPH_KEYRING")
    timeout 30 "${rbdc[@]}" snap ls "$SCORIA_TEST_GLANCE_RBD_POOL/$id" | grep -q ' snap ' || die "ceph: no RBD snapshot $id@snap"
  fi
  timeout 60 openstack image delete "$id"
  if timeout 60 openstack image show "$id" >/dev/null 2>&1; then die "$store: image $id still there after delete"; fi
  say "$store: create, show, download (identical bytes), delete: ok in $((SECONDS - t0)) s"
done
say "ok"
