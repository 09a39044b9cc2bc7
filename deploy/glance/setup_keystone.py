#!/usr/bin/env python3
"""Create (or repair) what Glance needs in the test Keystone, idempotently: the service user
glance (project service, role admin) and the image service `glance` with public and internal
endpoints in RegionOne. Uses deploy/keystone/setup_objects.py's REST helpers (one process, one
admin token; each `openstack` CLI call would cost about 3 s)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "keystone"))
from setup_objects import Keystone, login  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-password", required=True)
    ap.add_argument("--service-password", required=True)
    ap.add_argument("--url", required=True)
    a = ap.parse_args()
    k = login(a.admin_password)

    role = k.find("roles", "roles", name="admin")[0]["id"]
    projects = k.find("projects", "projects", name="service", domain_id="default")
    if not projects:
        sys.exit("setup_keystone: no project `service`: run deploy/keystone/keystone-up.sh first")
    project = projects[0]["id"]
    found = k.find("users", "users", name="glance", domain_id="default")
    if found:
        user = found[0]["id"]
        # Reset the password only when it does not work (bcrypt makes each write cost).
        check = Keystone(None).call("POST", "/auth/tokens", {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"id": user, "password": a.service_password}}}}})
        if check[0] != 201:
            k.must("PATCH", f"/users/{user}", {"user": {"password": a.service_password}})
    else:
        user = k.must("POST", "/users", {"user": {
            "name": "glance", "password": a.service_password, "domain_id": "default", "enabled": True}})["user"]["id"]
    k.must("PUT", f"/projects/{project}/users/{user}/roles/{role}")

    found = k.find("services", "services", type="image")
    sid = found[0]["id"] if found else k.must("POST", "/services", {"service": {
        "type": "image", "name": "glance", "enabled": True}})["service"]["id"]
    endpoints = k.find("endpoints", "endpoints", service_id=sid)
    for iface in ("public", "internal"):
        mine = [e for e in endpoints if e["interface"] == iface]
        if not mine:
            k.must("POST", "/endpoints", {"endpoint": {
                "service_id": sid, "interface": iface, "url": a.url, "region_id": "RegionOne"}})
            continue
        for e in mine[1:]:
            k.must("DELETE", f"/endpoints/{e['id']}")
        if mine[0]["url"] != a.url:
            k.must("PATCH", f"/endpoints/{mine[0]['id']}", {"endpoint": {"url": a.url}})


if __name__ == "__main__":
    main()
