#!/usr/bin/env python3
"""Create (or repair) the Keystone objects Scoria's keystone tests use, idempotently.

One process and one admin token instead of one `openstack` CLI call per object (each costs
2.5-3.5 s). Only the standard library: Keystone's REST API v3 over urllib.

Objects (passwords are test values, see deploy/keystone/README.md):
  role service (admin, member and reader come from keystone-manage bootstrap)
  project service: user scoria (admin, service), user nova (service)
  project demo-a: user alice (member), user carol (reader)
  project demo-b: user bob (member)
  project admin: user admin (admin, from bootstrap)
  services volumev3 and block-storage, public/internal/admin endpoints in RegionOne at
  http://127.0.0.1:PORT/v3/%(project_id)s
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

KEYSTONE = "http://127.0.0.1:5000/v3"
PASSWORD = {
    "scoria": "scoria-secret",
    "nova": "nova-secret",
    "alice": "alice-secret",
    "bob": "bob-secret",
    "carol": "carol-secret",
}
PROJECTS = ["service", "demo-a", "demo-b"]
ROLES = ["service", "member", "reader", "admin"]
GRANTS = [  # user, project, role
    ("scoria", "service", "admin"),
    ("scoria", "service", "service"),
    ("nova", "service", "service"),
    ("alice", "demo-a", "member"),
    ("carol", "demo-a", "reader"),
    ("bob", "demo-b", "member"),
]
SERVICES = [("volumev3", "cinderv3"), ("block-storage", "cinder")]


class Keystone:
    def __init__(self, token):
        self.token = token

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(KEYSTONE + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None), resp.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = raw.decode(errors="replace")
            return e.code, doc, e.headers

    def must(self, method, path, body=None, ok=(200, 201, 204)):
        status, doc, _ = self.call(method, path, body)
        if status not in ok:
            sys.exit(f"setup_objects: {method} {path}: {status} {doc}")
        return doc

    def find(self, collection, key, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        doc = self.must("GET", f"/{collection}?{qs}")
        return doc[key]


def login(password):
    k = Keystone(None)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    status, doc, headers = k.call("POST", "/auth/tokens", body)
    if status != 201:
        sys.exit(f"setup_objects: admin login: {status} {doc}")
    return Keystone(headers["X-Subject-Token"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-password", required=True)
    ap.add_argument("--scoria-port", type=int, default=18776)
    a = ap.parse_args()
    k = login(a.admin_password)

    roles = {}
    for name in ROLES:
        found = k.find("roles", "roles", name=name)
        roles[name] = found[0]["id"] if found else k.must("POST", "/roles", {"role": {"name": name}})["role"]["id"]
    projects = {}
    for name in PROJECTS:
        found = k.find("projects", "projects", name=name, domain_id="default")
        projects[name] = found[0]["id"] if found else k.must(
            "POST", "/projects", {"project": {"name": name, "domain_id": "default"}})["project"]["id"]
    users = {}
    for name, pw in PASSWORD.items():
        found = k.find("users", "users", name=name, domain_id="default")
        if found:
            users[name] = found[0]["id"]
            # Reset the password only when it does not work (bcrypt makes each write cost).
            check = Keystone(None).call("POST", "/auth/tokens", {"auth": {"identity": {
                "methods": ["password"], "password": {"user": {"id": users[name], "password": pw}}}}})
            if check[0] != 201:
                k.must("PATCH", f"/users/{users[name]}", {"user": {"password": pw}})
        else:
            users[name] = k.must("POST", "/users", {"user": {
                "name": name, "password": pw, "domain_id": "default", "enabled": True}})["user"]["id"]
    for user, project, role in GRANTS:
        k.must("PUT", f"/projects/{projects[project]}/users/{users[user]}/roles/{roles[role]}")

    url = f"http://127.0.0.1:{a.scoria_port}/v3/%(project_id)s"
    for stype, sname in SERVICES:
        found = k.find("services", "services", type=stype)
        sid = found[0]["id"] if found else k.must("POST", "/services", {"service": {
            "type": stype, "name": sname, "enabled": True}})["service"]["id"]
        endpoints = k.find("endpoints", "endpoints", service_id=sid)
        for iface in ("public", "internal", "admin"):
            mine = [e for e in endpoints if e["interface"] == iface]
            if not mine:
                k.must("POST", "/endpoints", {"endpoint": {
                    "service_id": sid, "interface": iface, "url": url, "region_id": "RegionOne"}})
                continue
            for e in mine[1:]:
                k.must("DELETE", f"/endpoints/{e['id']}")
            if mine[0]["url"] != url:
                k.must("PATCH", f"/endpoints/{mine[0]['id']}", {"endpoint": {"url": url}})
    print(json.dumps({"projects": projects, "users": users}, sort_keys=True))


if __name__ == "__main__":
    main()
