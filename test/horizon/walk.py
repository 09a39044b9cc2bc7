#!/usr/bin/python3
"""Walk Horizon's Block Storage pages in headless Chromium, as a person would.

Run by horizon_test.go (TestHorizon), one area per run: volumes, groups, types or services.
Every step prints one JSON line on stdout:

  {"area": ..., "step": ..., "status": "pass"|"fail"|"skip", "error": ..., "seconds": ...,
   "worked": bool, "screenshot": ..., "url": ..., "alerts": [...], "allowed_alerts": [...]}

A step fails when what it did does not show (a form that does not open, a volume that never
becomes Available), when Horizon shows its error page, or when an error or warning alert
appears that is not one of ALLOWED_ALERTS: those come from the services this test
environment does not have (compute, image, network), never from the Block Storage API. A step
whose prerequisite did not work is skipped (one that worked but showed an error alert fails,
and the steps after it run). Explicit waits only (WebDriverWait with a bound), no
sleeps. Only the standard library and Debian's python3-selenium.
"""
import argparse
import json
import os
import re
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# Alerts expected without Nova, Glance and Neutron (the same with real Cinder, see
# shared/reference/horizon.md). Each is matched against the whole text of the alert.
# Seen: "Error: Invalid service catalog: compute" (every project page), "...: image" (the
# Create Volume form, which offers images as a source).
ALLOWED_ALERTS = [
    re.compile(r"^(Error: )?Invalid service catalog(?: service)?: (compute|image|network)\.?$"),
]

# Row statuses that end a wait: the wanted one, or one that will never turn into it.
TERMINAL = {"Available", "In-use", "Error", "Error Deleting", "Error Extending", "Error_deleting",
            "Error_extending"}

WAIT = 30  # seconds for a page, a form or a row (statuses: twice that)


class StepFailed(Exception):
    pass


class Walker:
    def __init__(self, args):
        self.a = args
        self.area = args.area
        self.base = args.base.rstrip("/")
        self.shots = args.artifacts
        self.failed = set()
        self.alerts = []
        self.n = 0
        opts = webdriver.ChromeOptions()
        opts.binary_location = args.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                     "--user-data-dir=" + args.profile):
            opts.add_argument(flag)
        service = Service(executable_path=args.chromedriver,
                          log_path=os.path.join(args.artifacts, "chromedriver-%s.log" % self.area))
        self.d = webdriver.Chrome(service=service, options=opts)
        self.d.set_page_load_timeout(WAIT)
        self.d.set_script_timeout(30)

    # ---- alerts ----------------------------------------------------------------------
    ARM = """
    if (!window.__scoria) {
      window.__scoria = [];
      var seen = new WeakSet();
      var grab = function (el) {
        if (seen.has(el)) return;
        seen.add(el);
        window.__scoria.push({cls: el.className || '', text: (el.innerText || el.textContent || '').trim()});
      };
      document.querySelectorAll('.alert').forEach(grab);
      new MutationObserver(function (muts) {
        muts.forEach(function (m) {
          m.addedNodes.forEach(function (n) {
            if (n.nodeType !== 1) return;
            if (n.classList.contains('alert')) grab(n);
            n.querySelectorAll('.alert').forEach(grab);
          });
        });
      }).observe(document.documentElement, {childList: true, subtree: true});
    }
    var out = window.__scoria.slice();
    window.__scoria.length = 0;
    return out;
    """

    def drain(self):
        """Collects the alerts shown since the last call on this page."""
        try:
            got = self.d.execute_script(self.ARM) or []
        except WebDriverException:
            return
        for a in got:
            cls, text = a.get("cls", ""), " ".join(a.get("text", "").split())
            # Horizon ends an alert that has a traceback to show with a "Details" link.
            text = re.sub(r"\s*Details$", "", text.lstrip("×").strip())
            if "alert-danger" in cls or "alert-warning" in cls or "alert-error" in cls:
                self.alerts.append(text)

    def blocking(self):
        """The alerts of this step that no service missing from the test environment explains."""
        return [a for a in self.alerts if not any(p.match(a) for p in ALLOWED_ALERTS)]

    def page_errors(self):
        """Horizon's own error pages (a 500 or a 403 from the dashboard itself)."""
        title = self.d.title or ""
        if "Something went wrong" in self.d.page_source[:20000] or title.startswith("Server error"):
            raise StepFailed("Horizon shows its error page at %s" % self.d.current_url)

    # ---- navigation and waits ---------------------------------------------------------
    def go(self, path):
        self.drain()
        self.d.get(self.base + path)
        self.loaded()

    def at(self, path):
        """Makes sure the browser shows path (a form's success page usually is it already)."""
        here = self.safe_url().split("://", 1)[-1]
        here = "/" + here.split("/", 1)[1] if "/" in here else "/"
        if here.split("?")[0] != path.split("?")[0]:
            self.go(path)

    def loaded(self):
        WebDriverWait(self.d, WAIT).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        self.drain()
        self.page_errors()

    def until(self, what, fn, timeout=WAIT):
        """Waits until fn() is truthy, draining alerts as it goes; says what it last saw."""
        seen = {"last": None}

        def check(_):
            self.drain()
            try:
                v = fn()
            except WebDriverException as e:
                seen["last"] = e.__class__.__name__
                return False
            if not v:
                return False
            return v

        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.5).until(check)
        except TimeoutException:
            shown = sorted(set(self.blocking()))
            raise StepFailed("waited %ds for %s%s%s" % (
                timeout, what, "" if seen["last"] is None else " (last: %s)" % seen["last"],
                "; Horizon showed: " + " | ".join(shown) if shown else ""))

    def find(self, css):
        els = [e for e in self.d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return els[0] if els else None

    def click(self, el):
        # A script click reaches Horizon's delegated handlers (ajax-modal, batch actions)
        # even for an entry of a closed row-action dropdown.
        self.d.execute_script("arguments[0].click();", el)

    def click_id(self, elem_id, what):
        el = self.until(what, lambda: self.d.find_element(By.ID, elem_id))
        self.click(el)

    def modal(self, what):
        """Waits for the open modal form and returns it."""
        return self.until("the %s form" % what, lambda: self.find(".modal.in form, .modal form"))

    def fill(self, form, field_id, value):
        el = form.find_element(By.ID, field_id)
        el.clear()
        el.send_keys(str(value))

    def choose(self, field_id, text):
        """Selects the option whose text or value is text in a <select> (themable or not)."""
        ok = self.d.execute_script("""
            var s = document.getElementById(arguments[0]);
            if (!s) return 'no field ' + arguments[0];
            for (var i = 0; i < s.options.length; i++) {
              var o = s.options[i];
              if (o.value === arguments[1] || o.text.trim() === arguments[1]) {
                s.value = o.value;
                if (window.jQuery) { jQuery(s).val(o.value).trigger('change'); }
                else { s.dispatchEvent(new Event('change', {bubbles: true})); }
                return '';
              }
            }
            var have = [];
            for (var j = 0; j < s.options.length; j++) have.push(s.options[j].text.trim());
            return 'no option ' + arguments[1] + ' in ' + arguments[0] + ': ' + have.join(', ');
        """, field_id, text)
        if ok:
            raise StepFailed(ok)

    def submit(self, form, what):
        self.drain()
        btn = form.find_element(By.CSS_SELECTOR, "[type=submit]")
        self.click(btn)
        # The modal closes (success: Horizon loads the next page) or shows the form again
        # with errors: fail with them.
        def closed():
            errs = [e.text for e in self.d.find_elements(
                By.CSS_SELECTOR, ".modal .alert-danger, .modal .has-error .help-block, .modal .error")
                if e.is_displayed() and e.text.strip()]
            if errs:
                raise StepFailed("the %s form answered: %s" % (what, " | ".join(errs)))
            return not self.find(".modal form")
        self.until("the %s form to close" % what, closed)
        self.loaded()

    def confirm(self, what):
        """Presses the button of Horizon's confirmation dialog (delete actions)."""
        btn = self.until("the confirmation of %s" % what,
                         lambda: self.find(".modal .modal-footer .btn-danger, .modal .modal-footer .btn-primary"))
        self.drain()
        self.click(btn)
        self.loaded()

    # ---- tables -----------------------------------------------------------------------
    def row(self, table, name):
        """The row of table whose name column (a link or text) is name, or None."""
        # Horizon replaces a row when its status updates: read again when one went stale.
        for attempt in range(5):
            try:
                for tr in self.d.find_elements(By.CSS_SELECTOR, "table#%s tbody tr[data-object-id]" % table):
                    cells = tr.find_elements(By.CSS_SELECTOR, "td")
                    if any(c.text.strip() == name for c in cells):
                        return tr
                return None
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
        return None

    def row_id(self, table, name):
        def oid():
            tr = self.row(table, name)
            return tr.get_attribute("data-object-id") if tr is not None else None
        return self.until("%s in table %s" % (name, table), oid)

    def row_text(self, table, name):
        """The text of the row (empty when there is none)."""
        tr = self.row(table, name)
        return tr.text if tr is not None else ""

    def status_of(self, table, name):
        """The status cell's text of the row, None without a row."""
        try:
            tr = self.row(table, name)
            if tr is None:
                return None
            st = tr.find_elements(By.CSS_SELECTOR, "td.status_up, td.status_down, td.status_unknown")
            return st[0].text.strip() if st else tr.text
        except StaleElementReferenceException:
            return "(row being replaced)"

    def wait_status(self, table, name, want, timeout=WAIT * 2):
        saw = {"s": None}

        def check():
            s = self.status_of(table, name)
            saw["s"] = s
            if s == want:
                return True
            if s in TERMINAL and s != want:
                raise StepFailed("%s is %s, wanted %s" % (name, s, want))
            return False
        try:
            self.until("%s to be %s" % (name, want), check, timeout)
        except StepFailed as e:
            raise StepFailed("%s; last status seen: %s" % (e, saw["s"]))

    def wait_gone(self, path, table, name, timeout=WAIT * 2):
        deadline = time.monotonic() + timeout
        while True:
            if self.row(table, name) is None:
                return
            if time.monotonic() > deadline:
                raise StepFailed("%s still in table %s after %ds (status %s)" % (
                    name, table, timeout, self.status_of(table, name)))
            # Horizon updates a deleting row by itself until it 404s, then drops it; a
            # reload also shows the truth. Reload every few seconds, bounded.
            try:
                WebDriverWait(self.d, 3, poll_frequency=0.5,
                              ignored_exceptions=(StaleElementReferenceException,)).until(
                    lambda d: self.row(table, name) is None)
                return
            except TimeoutException:
                self.go(path)

    def row_action(self, table, name, action, timeout=WAIT, why=""):
        oid = self.row_id(table, name)
        what = "the %s action of %s%s" % (action, name, why)
        el = self.until(what, lambda: self.d.find_element(
            By.ID, "%s__row_%s__action_%s" % (table, oid, action)), timeout)
        self.click(el)
        return oid

    # ---- steps ------------------------------------------------------------------------
    def step(self, name, fn, needs=()):
        t0 = time.monotonic()
        rec = {"area": self.area, "step": name, "status": "pass"}
        missing = [n for n in needs if n in self.failed]
        if missing:
            rec.update(status="skip", error="needs %s, which did not pass" % ", ".join(missing))
            self.failed.add(name)
            print(json.dumps(rec), flush=True)
            return
        self.alerts = []
        try:
            fn()
            self.drain()
        except StepFailed as e:
            rec.update(status="fail", error=str(e))
        except (WebDriverException, AssertionError) as e:
            rec.update(status="fail", error="%s: %s" % (e.__class__.__name__, str(e).strip()[:800]))
        except Exception:  # a bug of this script: say so, with where
            rec.update(status="fail", error="walk.py: " + traceback.format_exc(limit=4))
        blocking = self.blocking()
        rec["alerts"] = blocking
        rec["allowed_alerts"] = sorted(set(self.alerts) - set(blocking))
        # "worked": what the step did showed up. A step that worked but showed an error alert
        # fails all the same; the steps after it still run, since what they need exists.
        rec["worked"] = rec["status"] == "pass"
        if blocking and rec["status"] == "pass":
            rec.update(status="fail", error="the step worked, but Horizon showed error alert(s): " +
                       " | ".join(sorted(set(blocking))))
        self.n += 1
        shot = os.path.join(self.shots, "%s-%02d-%s.png" % (self.area, self.n, name))
        try:
            self.d.save_screenshot(shot)
            rec["screenshot"] = shot
        except WebDriverException as e:
            rec["screenshot_error"] = str(e)[:200]
        rec["url"] = self.safe_url()
        rec["seconds"] = round(time.monotonic() - t0, 1)
        if not rec["worked"]:
            self.failed.add(name)
        print(json.dumps(rec), flush=True)

    def safe_url(self):
        try:
            return self.d.current_url
        except WebDriverException:
            return ""

    def login(self, user, password):
        # Logging out first makes a login of another user (or a reused profile) start clean.
        self.go("/auth/logout/")
        # Straight to a Block Storage page: the default landing page (Overview) asks the
        # compute service, which is absent, and costs seconds.
        self.go("/auth/login/?next=/project/volumes/")
        form = self.until("the login form", lambda: self.find("form #id_username") and self.find("form"))
        self.fill(self.d, "id_username", user)
        self.fill(self.d, "id_password", password)
        self.click(self.d.find_element(By.ID, "loginBtn"))
        self.until("a logged-in page", lambda: "/auth/login" not in self.d.current_url and
                   self.d.find_elements(By.CSS_SELECTOR, ".navbar"))
        self.loaded()
        del form

    # ---- areas ------------------------------------------------------------------------
    def volumes(self):
        a = self.a
        S = self.step
        S("login_member", lambda: self.login(a.member, a.member_password))
        S("volumes_page", lambda: (self.go("/project/volumes/"),
                                   self.until("the volumes table", lambda: self.find("table#volumes"))),
          needs=["login_member"])

        def create():
            self.click_id("volumes__action_create", "the Create Volume button")
            f = self.modal("Create Volume")
            self.fill(f, "id_name", "h-vol")
            self.fill(f, "id_size", 1)
            self.submit(f, "Create Volume")
            self.at("/project/volumes/")
            self.wait_status("volumes", "h-vol", "Available")
        S("create_volume", create, needs=["volumes_page"])

        def extend():
            self.row_action("volumes", "h-vol", "extend")
            f = self.modal("Extend Volume")
            self.fill(f, "id_new_size", 2)
            self.submit(f, "Extend Volume")
            self.at("/project/volumes/")
            self.until("h-vol at 2GiB", lambda: "2GiB" in self.row_text("volumes", "h-vol"))
            self.wait_status("volumes", "h-vol", "Available")
        S("extend_volume", extend, needs=["create_volume"])

        def edit():
            self.row_action("volumes", "h-vol", "edit")
            f = self.modal("Edit Volume")
            self.fill(f, "id_name", "h-vol-renamed")
            self.submit(f, "Edit Volume")
            self.at("/project/volumes/")
            self.wait_status("volumes", "h-vol-renamed", "Available")
        S("edit_volume", edit, needs=["create_volume"])
        vol = "h-vol" if "edit_volume" in self.failed else "h-vol-renamed"

        def snapshot():
            self.at("/project/volumes/")
            self.row_action("volumes", vol, "snapshots")
            f = self.modal("Create Volume Snapshot")
            self.fill(f, "id_name", "h-snap")
            self.submit(f, "Create Volume Snapshot")
            self.at("/project/snapshots/")
            self.wait_status("volume_snapshots", "h-snap", "Available")
        S("create_snapshot", snapshot, needs=["create_volume"])

        def from_snapshot():
            self.at("/project/snapshots/")
            self.row_action("volume_snapshots", "h-snap", "create_from_snapshot")
            f = self.modal("Create Volume (from the snapshot)")
            self.fill(f, "id_name", "h-from-snap")
            self.submit(f, "Create Volume (from the snapshot)")
            self.at("/project/volumes/")
            self.wait_status("volumes", "h-from-snap", "Available")
        S("volume_from_snapshot", from_snapshot, needs=["create_snapshot"])

        def delete(path, table, name):
            def run():
                self.at(path)
                self.row_action(table, name, "delete")
                self.confirm("deleting " + name)
                self.wait_gone(path, table, name)
            return run
        S("delete_volume_from_snapshot", delete("/project/volumes/", "volumes", "h-from-snap"),
          needs=["volume_from_snapshot"])
        S("delete_snapshot", delete("/project/snapshots/", "volume_snapshots", "h-snap"),
          needs=["create_snapshot"])
        S("delete_volume", delete("/project/volumes/", "volumes", vol), needs=["create_volume"])

    def groups(self):
        a = self.a
        S = self.step
        S("login_admin", lambda: self.login(a.admin, a.admin_password))

        def group_type():
            self.at("/admin/group_types/")
            self.click_id("group_types__action_create", "the Create Group Type button")
            f = self.modal("Create Group Type")
            self.fill(f, "id_name", "h-gtype")
            self.submit(f, "Create Group Type")
            self.at("/admin/group_types/")
            self.row_id("group_types", "h-gtype")
        S("create_group_type", group_type, needs=["login_admin"])
        S("login_member", lambda: self.login(a.member, a.member_password),
          needs=["login_admin"])

        def group():
            self.at("/project/volume_groups/")
            self.click_id("volume_groups__action_create", "the Create Group button")
            f = self.modal("Create Group")
            self.fill(f, "id_name", "h-group")
            self.choose("id_group_type", "h-gtype")
            # The Manage Volume Types step: move the default type into the group.
            tab = self.until("the Manage Volume Types tab", lambda: self.find(
                ".modal a[data-target$='add_vtypes_to_group'], .modal a[href$='add_vtypes_to_group']"))
            self.click(tab)
            add = self.until("__DEFAULT__ among the available volume types", lambda: self.d.execute_script("""
                // horizon/client_side/_membership.html: one ul.btn-group per volume type, its
                // name in li.member .display_name, the "+" in a[href='#add_remove'].
                var items = document.querySelectorAll('.modal ul.available_add_vtypes_to_group ul.btn-group');
                for (var i = 0; i < items.length; i++) {
                  var name = items[i].querySelector('.display_name');
                  if (name && name.textContent.trim() === '__DEFAULT__') {
                    return items[i].querySelector("a[href='#add_remove']");
                  }
                }
                return null;"""))
            self.click(add)
            self.until("__DEFAULT__ among the group's volume types", lambda: any(
                e.text.strip() == "__DEFAULT__" for e in self.d.find_elements(
                    By.CSS_SELECTOR, ".modal ul.add_vtypes_to_group_members .display_name")))
            self.submit(self.find(".modal form"), "Create Group")
            self.at("/project/volume_groups/")
            self.wait_status("volume_groups", "h-group", "Available")
        S("create_group", group, needs=["create_group_type", "login_member"])

        def member(name):
            def run():
                self.at("/project/volumes/")
                self.click_id("volumes__action_create", "the Create Volume button")
                f = self.modal("Create Volume")
                self.fill(f, "id_name", name)
                self.fill(f, "id_size", 1)
                self.choose("id_type", "__DEFAULT__")
                self.choose("id_group", "h-group")
                self.submit(f, "Create Volume")
                self.at("/project/volumes/")
                self.wait_status("volumes", name, "Available")
                self.until("%s shown in group h-group" % name,
                           lambda: "h-group" in self.row_text("volumes", name))
            return run
        S("create_group_volume_1", member("h-gvol-1"), needs=["create_group"])
        S("create_group_volume_2", member("h-gvol-2"), needs=["create_group"])

        def gsnap():
            self.at("/project/volume_groups/")
            self.row_action("volume_groups", "h-group", "create_snapshot")
            f = self.modal("Create Group Snapshot")
            self.fill(f, "id_name", "h-gsnap")
            self.submit(f, "Create Group Snapshot")
            self.at("/project/vg_snapshots/")
            self.wait_status("volume_vg_snapshots", "h-gsnap", "Available")
        S("create_group_snapshot", gsnap, needs=["create_group_volume_1", "create_group_volume_2"])

        def from_gsnap():
            self.at("/project/vg_snapshots/")
            self.row_action("volume_vg_snapshots", "h-gsnap", "create_group")
            f = self.modal("Create Group (from the group snapshot)")
            self.fill(f, "id_name", "h-group-2")
            self.submit(f, "Create Group (from the group snapshot)")
            self.at("/project/volume_groups/")
            self.wait_status("volume_groups", "h-group-2", "Available")
        S("group_from_group_snapshot", from_gsnap, needs=["create_group_snapshot"])

        def delete_group(name):
            def run():
                self.at("/project/volume_groups/")
                self.row_action("volume_groups", name, "deletecg")
                f = self.modal("Delete Group")
                box = f.find_element(By.ID, "id_delete_volumes")
                if not box.is_selected():
                    self.click(box)
                self.submit(f, "Delete Group")
                self.wait_gone("/project/volume_groups/", "volume_groups", name)
            return run
        S("delete_group_from_snapshot", delete_group("h-group-2"), needs=["group_from_group_snapshot"])

        def delete_gsnap():
            self.at("/project/vg_snapshots/")
            self.row_action("volume_vg_snapshots", "h-gsnap", "delete_vg_snapshot")
            self.confirm("deleting h-gsnap")
            self.wait_gone("/project/vg_snapshots/", "volume_vg_snapshots", "h-gsnap")
        S("delete_group_snapshot", delete_gsnap, needs=["create_group_snapshot"])
        S("delete_group", delete_group("h-group"), needs=["create_group"])

        def delete_gtype():
            self.login(a.admin, a.admin_password)
            self.at("/admin/group_types/")
            self.row_action("group_types", "h-gtype", "delete")
            self.confirm("deleting h-gtype")
            self.wait_gone("/admin/group_types/", "group_types", "h-gtype")
        S("delete_group_type", delete_gtype, needs=["create_group_type"])

    def types(self):
        a = self.a
        S = self.step
        P = "/admin/volume_types/"
        S("login_admin", lambda: self.login(a.admin, a.admin_password))
        S("volume_types_page", lambda: (self.go(P), self.until(
            "the volume types table", lambda: self.find("table#volume_types"))), needs=["login_admin"])

        def create_type():
            self.at(P)
            self.click_id("volume_types__action_create", "the Create Volume Type button")
            f = self.modal("Create Volume Type")
            self.fill(f, "id_name", "h-type")
            self.submit(f, "Create Volume Type")
            self.at(P)
            self.row_id("volume_types", "h-type")
        S("create_type", create_type, needs=["volume_types_page"])

        def encryption():
            self.at(P)
            self.row_action("volume_types", "h-type", "create_encryption", timeout=10, why=(
                " (Horizon offers it when GET /extensions lists VolumeTypeEncryption and"
                " GET /types/{id}/encryption answers {})"))
            f = self.modal("Create Volume Type Encryption")
            self.fill(f, "id_provider", "luks")
            self.choose("id_control_location", "front-end")
            self.fill(f, "id_cipher", "aes-xts-plain64")
            self.fill(f, "id_key_size", 256)
            self.submit(f, "Create Volume Type Encryption")
            self.at(P)
            # The Encryption column shows the provider.
            self.until("h-type shown as encrypted with luks",
                       lambda: "luks" in self.row_text("volume_types", "h-type"))
        S("create_encryption", encryption, needs=["create_type"])

        def extra_spec():
            self.at(P)
            tid = self.row_action("volume_types", "h-type", "extras")
            self.loaded()
            self.click_id("extras__action_create", "the Create extra spec button")
            f = self.modal("Create Volume Type Extra Spec")
            self.fill(f, "id_key", "volume_backend_name")
            self.fill(f, "id_value", "local")
            self.submit(f, "Create Volume Type Extra Spec")
            self.at("/admin/volume_types/%s/extras/" % tid)
            self.row_id("extras", "volume_backend_name")
        S("create_extra_spec", extra_spec, needs=["create_type"])

        def qos():
            self.at(P)
            self.click_id("qos_specs__action_create", "the Create QoS Spec button")
            f = self.modal("Create QoS Spec")
            self.fill(f, "id_name", "h-qos")
            self.choose("id_consumer", "back-end")
            self.submit(f, "Create QoS Spec")
            self.at(P)
            self.row_id("qos_specs", "h-qos")
        S("create_qos_spec", qos, needs=["volume_types_page"])

        def qos_key():
            self.at(P)
            qid = self.row_action("qos_specs", "h-qos", "qos_spec")
            self.loaded()
            self.click_id("specs__action_create", "the Create QoS spec key button")
            f = self.modal("Create Spec")
            self.fill(f, "id_key", "total_iops_sec")
            self.fill(f, "id_value", "1000")
            self.submit(f, "Create Spec")
            self.at("/admin/volume_types/qos_specs/%s/" % qid)
            self.row_id("specs", "total_iops_sec")
        S("create_qos_spec_key", qos_key, needs=["create_qos_spec"])

        def associate(choice, check):
            def run():
                self.at(P)
                self.row_action("volume_types", "h-type", "associate")
                f = self.modal("Manage QoS Spec Association")
                self.choose("id_qos_spec_choice", choice)
                self.submit(f, "Manage QoS Spec Association")
                self.at(P)
                self.until("the association shown", lambda: check(self.row_text("volume_types", "h-type")))
            return run
        S("associate_qos_spec", associate("h-qos", lambda t: "h-qos" in t),
          needs=["create_type", "create_qos_spec"])

        def delete_extra_spec():
            self.at(P)
            tid = self.row_id("volume_types", "h-type")
            path = "/admin/volume_types/%s/extras/" % tid
            self.at(path)
            self.row_action("extras", "volume_backend_name", "delete")
            self.confirm("deleting the extra spec")
            self.wait_gone(path, "extras", "volume_backend_name")
        S("delete_extra_spec", delete_extra_spec, needs=["create_extra_spec"])

        def delete_encryption():
            self.at(P)
            self.row_action("volume_types", "h-type", "delete_encryption")
            self.confirm("deleting the encryption")
            self.go(P)
            self.until("the Create Encryption action back", lambda: self.d.find_elements(
                By.ID, "volume_types__row_%s__action_create_encryption" % self.row_id("volume_types", "h-type")))
        S("delete_encryption", delete_encryption, needs=["create_encryption"])
        S("disassociate_qos_spec", associate("None (removes spec)", lambda t: "h-qos" not in t),
          needs=["associate_qos_spec"])

        def delete(table, name):
            def run():
                self.at(P)
                self.row_action(table, name, "delete")
                self.confirm("deleting " + name)
                self.wait_gone(P, table, name)
            return run
        S("delete_qos_spec", delete("qos_specs", "h-qos"), needs=["create_qos_spec"])
        S("delete_type", delete("volume_types", "h-type"), needs=["create_type"])

    def services(self):
        a = self.a
        S = self.step
        S("login_admin", lambda: self.login(a.admin, a.admin_password))

        def services():
            self.go("/admin/info/?tab=system_info__cinder_services")
            tab = self.until("the Block Storage Services tab", lambda: self.find(
                "a[data-target='#system_info__cinder_services'], a[href='#system_info__cinder_services']"))
            self.click(tab)
            self.until("cinder-volume and cinder-scheduler up", lambda: self.services_up())
        S("block_storage_services", services, needs=["login_admin"])

    def services_up(self):
        rows = [tr.text for tr in self.d.find_elements(By.CSS_SELECTOR, "table#cinder_services tbody tr")
                if tr.is_displayed()]
        have = {b for b in ("cinder-volume", "cinder-scheduler") for r in rows if b in r and "Up" in r}
        return len(have) == 2

    def close(self):
        try:
            self.d.quit()
        except WebDriverException:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area", required=True, choices=["volumes", "groups", "types", "services"])
    ap.add_argument("--base", required=True, help="Horizon's URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--artifacts", required=True, help="directory for the screenshots")
    ap.add_argument("--profile", required=True,
                    help="Chromium's profile directory (one for all areas: Horizon's static files stay cached)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ap.add_argument("--member", default="alice")
    ap.add_argument("--member-password", default=os.environ.get("SCORIA_HORIZON_MEMBER_PASSWORD", "alice-secret"))
    ap.add_argument("--admin", default="admin")
    ap.add_argument("--admin-password", default=os.environ.get("SCORIA_HORIZON_ADMIN_PASSWORD", "admin-secret"))
    a = ap.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    w = Walker(a)
    try:
        getattr(w, a.area)()
    finally:
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
