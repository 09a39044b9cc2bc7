package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
)

// The personas of these tests under noauth: no X-Roles is an admin; a member names the
// reader role Keystone implies with it.
var (
	asAdmin  map[string]string
	asMember = map[string]string{"X-Roles": "member,reader"}
	asReader = map[string]string{"X-Roles": "reader"}
)

// policyFile writes an operator's policy file of rules (name: check string) and returns
// its path.
func policyFile(t *testing.T, rules map[string]string) string {
	t.Helper()
	var b strings.Builder
	for name, check := range rules {
		fmt.Fprintf(&b, "%q: %q\n", name, check)
	}
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// policyOptions are the enforcer options of a case: Zed's defaults, enforce_new_defaults,
// and an operator's policy file of rules.
func policyOptions(t *testing.T, strict bool, rules map[string]string) policy.Options {
	o := policy.Options{EnforceNewDefaults: strict}
	if len(rules) > 0 {
		o.File = policyFile(t, rules)
	}
	return o
}

// checkKeys checks that v has the keys of want and none of notWant.
func checkKeys(t *testing.T, what string, v any, want, notWant []string) {
	t.Helper()
	got := keysOf(t, v)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("%s: no %s in %v", what, k, got)
		}
	}
	for _, k := range notWant {
		if slices.Contains(got, k) {
			t.Errorf("%s: %s shown, want it absent: %v", what, k, got)
		}
	}
}

const (
	keyTenant   = "os-vol-tenant-attr:tenant_id"
	keyHost     = "os-vol-host-attr:host"
	keyMigStat  = "os-vol-mig-status-attr:migstat"
	keyNameID   = "os-vol-mig-status-attr:name_id"
	keyImage    = "volume_image_metadata"
	keyMigrate  = "migration_status"
	keySnapProj = "os-extended-snapshot-attributes:project_id"
	keySnapProg = "os-extended-snapshot-attributes:progress"
	keySpecs    = "extra_specs"
	keyQoSID    = "qos_specs_id"
	keyAccess   = "os-volume-type-access:is_public"
)

// TestPolicyVolumeViewAttributes: the os-vol-* attributes and volume_image_metadata of a
// volume's show and detail list follow their rules (Cinder's volume_tenant_attribute,
// volume_host_attribute, volume_mig_status_attribute and volume_image_metadata extensions,
// each context.authorize(rule, fatal=False)); migration_status stays on is_admin.
func TestPolicyVolumeViewAttributes(t *testing.T) {
	all := []string{keyTenant, keyHost, keyMigStat, keyNameID, keyImage, keyMigrate}
	for _, c := range []struct {
		name   string
		strict bool
		rules  map[string]string
		who    map[string]string
		want   []string
	}{
		{name: "owner member sees tenant_id, not host", who: asMember, want: []string{keyTenant, keyImage}},
		{name: "owner with member alone (legacy admin_or_owner)", who: map[string]string{"X-Roles": "member"}, want: []string{keyTenant, keyImage}},
		{name: "admin sees all", who: asAdmin, want: all},
		{name: "reader, enforce_new_defaults", strict: true, who: asReader, want: []string{keyTenant, keyImage}},
		{name: "admin, enforce_new_defaults", strict: true, who: asAdmin, want: all},
		{name: "tenant attribute denied to all", rules: map[string]string{"volume_extension:volume_tenant_attribute": "!"},
			who: asAdmin, want: []string{keyHost, keyMigStat, keyNameID, keyImage, keyMigrate}},
		{name: "tenant attribute denied, member", rules: map[string]string{"volume_extension:volume_tenant_attribute": "!"},
			who: asMember, want: []string{keyImage}},
		{name: "host attribute opened to all", rules: map[string]string{"volume_extension:volume_host_attribute": "@"},
			who: asMember, want: []string{keyTenant, keyHost, keyImage}},
		{name: "mig status attribute opened to owners", rules: map[string]string{"volume_extension:volume_mig_status_attribute": "rule:admin_or_owner"},
			who: asMember, want: []string{keyTenant, keyMigStat, keyNameID, keyImage}},
		{name: "image metadata denied", rules: map[string]string{"volume_extension:volume_image_metadata:show": "!"},
			who: asMember, want: []string{keyTenant}},
		{name: "image metadata denied by the rule's old name", rules: map[string]string{"volume_extension:volume_image_metadata": "!"},
			who: asAdmin, want: []string{keyTenant, keyHost, keyMigStat, keyNameID, keyMigrate}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, c.strict, c.rules))))
			id := e.createVolume(`{"volume": {"size": 1}}`, "")
			e.place(id, "host1@lvm#pool", resource.StatusAvailable)
			// Straight to the store: a policy file of the rule's old name denies setting too.
			if _, err := e.store.UpdateVolumeMetadata(context.Background(), resource.GlanceMetadata, id,
				map[string]string{"min_ram": "512"}, false, resource.VolumeStatusRule{}); err != nil {
				t.Fatal(err)
			}
			var notWant []string
			for _, k := range all {
				if !slices.Contains(c.want, k) {
					notWant = append(notWant, k)
				}
			}
			show := e.do(call{method: "GET", path: "/v3/p1/volumes/" + id, header: c.who})
			wantStatus(t, show, http.StatusOK)
			checkKeys(t, "show", member(t, obj(t, show), "volume"), c.want, notWant)
			detail := e.do(call{method: "GET", path: "/v3/p1/volumes/detail", header: c.who})
			wantStatus(t, detail, http.StatusOK)
			checkKeys(t, "detail", member(t, obj(t, detail), "volumes", 0), c.want, notWant)
			if slices.Contains(c.want, keyTenant) {
				if got := str(t, obj(t, show), "volume", keyTenant); got != testProject {
					t.Errorf("tenant_id %q", got)
				}
			}
			if slices.Contains(c.want, keyHost) {
				if got := str(t, obj(t, show), "volume", keyHost); got != "host1@lvm#pool" {
					t.Errorf("host %q", got)
				}
			}
		})
	}
}

// TestPolicyViewRulesOncePerRequest: a detail list of many volumes decides each view rule
// once, not once per volume (the viewer remembers its decisions).
func TestPolicyViewRulesOncePerRequest(t *testing.T) {
	vr := &viewRules{ctx: context.Background(), project: testProject}
	vw := viewer{rules: vr}
	for range 1000 {
		vw.may(ruleTenantAttribute)
		vw.may(ruleHostAttribute)
	}
	if vr.known != 1<<ruleTenantAttribute|1<<ruleHostAttribute {
		t.Errorf("decided %b", vr.known)
	}
}

// TestPolicySnapshotViewAttributes: os-extended-snapshot-attributes:project_id and
// :progress of a snapshot's show and detail list follow
// volume_extension:extended_snapshot_attributes.
func TestPolicySnapshotViewAttributes(t *testing.T) {
	for _, c := range []struct {
		name   string
		strict bool
		rules  map[string]string
		who    map[string]string
		shown  bool
	}{
		{name: "owner member", who: asMember, shown: true},
		{name: "admin", who: asAdmin, shown: true},
		{name: "reader, enforce_new_defaults", strict: true, who: asReader, shown: true},
		{name: "denied to all: member", rules: map[string]string{"volume_extension:extended_snapshot_attributes": "!"}, who: asMember},
		{name: "denied to all: admin", rules: map[string]string{"volume_extension:extended_snapshot_attributes": "!"}, who: asAdmin},
		{name: "admins only: member", rules: map[string]string{"volume_extension:extended_snapshot_attributes": "rule:admin_api"}, who: asMember},
		{name: "admins only: admin", rules: map[string]string{"volume_extension:extended_snapshot_attributes": "rule:admin_api"}, who: asAdmin, shown: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, c.strict, c.rules))))
			sid := e.createSnapshot(e.placedVolume(""), "")
			keys := []string{keySnapProj, keySnapProg}
			want, notWant := keys, []string(nil)
			if !c.shown {
				want, notWant = nil, keys
			}
			show := e.do(call{method: "GET", path: "/v3/p1/snapshots/" + sid, header: c.who})
			wantStatus(t, show, http.StatusOK)
			checkKeys(t, "show", member(t, obj(t, show), "snapshot"), want, notWant)
			detail := e.do(call{method: "GET", path: "/v3/p1/snapshots/detail", header: c.who})
			wantStatus(t, detail, http.StatusOK)
			checkKeys(t, "detail", member(t, obj(t, detail), "snapshots", 0), want, notWant)
			if c.shown && str(t, obj(t, show), "snapshot", keySnapProj) != testProject {
				t.Errorf("project_id %s", wire.PyRepr(obj(t, show)))
			}
		})
	}
}

// TestPolicyTypeViewAttributes: a type's extra_specs, qos_specs_id and
// os-volume-type-access:is_public on GET /types and GET /types/{id} follow
// access_types_extra_specs, access_types_qos_specs_id and volume_type_access, and which
// extra specs show follows types_extra_specs:read_sensitive (Cinder's v2 types view builder
// and volume_type_access extension).
func TestPolicyTypeViewAttributes(t *testing.T) {
	const typeID = "7d0a1c1e-0000-4000-8000-0000000000a1"
	for _, c := range []struct {
		name      string
		strict    bool
		rules     map[string]string
		who       map[string]string
		want      []string
		sensitive bool // every extra spec shown where specs show, not the user-visible ones only
	}{
		{name: "member", who: asMember, want: []string{keySpecs, keyAccess}},
		{name: "member without the reader role: access_types_extra_specs is reader or admin_api", who: map[string]string{"X-Roles": "member"}, want: []string{keyAccess}},
		{name: "admin", who: asAdmin, want: []string{keySpecs, keyQoSID, keyAccess}, sensitive: true},
		{name: "reader, enforce_new_defaults: no is_public", strict: true, who: asReader, want: []string{keySpecs}},
		{name: "member, enforce_new_defaults", strict: true, who: asMember, want: []string{keySpecs, keyAccess}},
		{name: "admin, enforce_new_defaults", strict: true, who: asAdmin, want: []string{keySpecs, keyQoSID, keyAccess}, sensitive: true},
		{name: "extra specs denied: admin", rules: map[string]string{"volume_extension:access_types_extra_specs": "!"}, who: asAdmin, want: []string{keyQoSID, keyAccess}, sensitive: true},
		{name: "extra specs denied: member", rules: map[string]string{"volume_extension:access_types_extra_specs": "!"}, who: asMember, want: []string{keyAccess}},
		{name: "sensitive specs opened", rules: map[string]string{"volume_extension:types_extra_specs:read_sensitive": "@"}, who: asMember, want: []string{keySpecs, keyAccess}, sensitive: true},
		{name: "sensitive specs denied to admins", rules: map[string]string{"volume_extension:types_extra_specs:read_sensitive": "!"}, who: asAdmin, want: []string{keySpecs, keyQoSID, keyAccess}},
		{name: "qos_specs_id opened", rules: map[string]string{"volume_extension:access_types_qos_specs_id": "@"}, who: asMember, want: []string{keySpecs, keyQoSID, keyAccess}},
		{name: "type access denied: admin", rules: map[string]string{"volume_extension:volume_type_access": "!"}, who: asAdmin, want: []string{keySpecs, keyQoSID}, sensitive: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, c.strict, c.rules))))
			e.addVolumeType(typeID, "gold")
			e.addExtraSpec(typeID, "volume_backend_name", "b1")
			e.addExtraSpec(typeID, "multiattach", "<is> True")
			var notWant []string
			for _, k := range []string{keySpecs, keyQoSID, keyAccess} {
				if !slices.Contains(c.want, k) {
					notWant = append(notWant, k)
				}
			}
			wantSpecs := []string{"multiattach"}
			if c.sensitive {
				wantSpecs = []string{"multiattach", "volume_backend_name"}
			}
			checkSpecs := func(what string, specs any) {
				got := keysOf(t, specs)
				slices.Sort(got)
				if !slices.Equal(got, wantSpecs) {
					t.Errorf("%s: extra specs %v, want %v", what, got, wantSpecs)
				}
			}
			show := e.do(call{method: "GET", path: "/v3/p1/types/" + typeID, header: c.who})
			wantStatus(t, show, http.StatusOK)
			vt := member(t, obj(t, show), "volume_type")
			checkKeys(t, "show", vt, c.want, notWant)
			if slices.Contains(c.want, keySpecs) {
				checkSpecs("show", member(t, vt, keySpecs))
			}
			list := e.do(call{method: "GET", path: "/v3/p1/types", header: c.who})
			wantStatus(t, list, http.StatusOK)
			for _, it := range member(t, obj(t, list), "volume_types").([]any) {
				checkKeys(t, "list "+str(t, it, "name"), it, c.want, notWant)
				if str(t, it, "id") == typeID && slices.Contains(c.want, keySpecs) {
					checkSpecs("list", member(t, it, keySpecs))
				}
			}
			// The extra_specs endpoints filter sensitive keys by read_sensitive alike.
			specs := e.do(call{method: "GET", path: "/v3/p1/types/" + typeID + "/extra_specs", header: c.who})
			wantStatus(t, specs, http.StatusOK)
			checkSpecs("GET extra_specs", member(t, obj(t, specs), "extra_specs"))
			one := e.do(call{method: "GET", path: "/v3/p1/types/" + typeID + "/extra_specs/volume_backend_name", header: c.who})
			if want := map[bool]int{true: 200, false: 404}[c.sensitive]; one.Code != want {
				t.Errorf("GET extra_specs/volume_backend_name: %d, want %d", one.Code, want)
			}
			// So does the type list's extra_specs filter (3.52): a filter on a key the caller
			// may not see lists nothing.
			filtered := e.do(call{method: "GET", path: "/v3/p1/types?extra_specs=" + `{"volume_backend_name":"b1"}`, version: "volume 3.52", header: c.who})
			wantStatus(t, filtered, http.StatusOK)
			if n := len(member(t, obj(t, filtered), "volume_types").([]any)); n != map[bool]int{true: 1, false: 0}[c.sensitive] {
				t.Errorf("filtered on a sensitive spec: %d types", n)
			}
		})
	}
}

// TestPolicyTypeAccessOtherViews: os-volume-type-access:is_public on the other type views,
// as Cinder's volume_type_access extension extends them: POST /types carries it when the
// rule allows; GET /types/default never (the extension looks the type up by the id
// "default" and finds none); PUT never.
func TestPolicyTypeAccessOtherViews(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules map[string]string
		want  bool
	}{
		{name: "defaults", want: true},
		{name: "type access denied", rules: map[string]string{"volume_extension:volume_type_access": "!"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, false, c.rules))))
			rec := e.do(call{method: "POST", path: "/v3/p1/types", body: `{"volume_type": {"name": "gold"}}`})
			wantStatus(t, rec, http.StatusOK)
			vt := member(t, obj(t, rec), "volume_type")
			if got := slices.Contains(keysOf(t, vt), keyAccess); got != c.want {
				t.Errorf("POST /types: %s shown %v, want %v", keyAccess, got, c.want)
			}
			id := str(t, vt, "id")
			rec = e.do(call{method: "PUT", path: "/v3/p1/types/" + id, body: `{"volume_type": {"description": "x"}}`})
			wantStatus(t, rec, http.StatusOK)
			if slices.Contains(keysOf(t, member(t, obj(t, rec), "volume_type")), keyAccess) {
				t.Errorf("PUT /types/{id} shows %s", keyAccess)
			}
			rec = e.do(call{method: "GET", path: "/v3/p1/types/default"})
			wantStatus(t, rec, http.StatusOK)
			checkKeys(t, "GET /types/default", member(t, obj(t, rec), "volume_type"), []string{keySpecs, keyQoSID}, []string{keyAccess})
		})
	}
}

// multiattachTypeID is a type whose volumes are multiattach.
const multiattachTypeID = "7d0a1c1e-0000-4000-8000-0000000000b1"

func (e *env) addMultiattachType(id, name string) {
	e.t.Helper()
	e.addVolumeType(id, name)
	e.addExtraSpec(id, "multiattach", "<is> True")
}

// quotaUsage is the volumes and gigabytes in_use and reserved of project p1.
func (e *env) quotaUsage() string {
	e.t.Helper()
	rec := e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=true"})
	wantStatus(e.t, rec, http.StatusOK)
	body := obj(e.t, rec)
	var parts []string
	for _, k := range []string{"volumes", "gigabytes"} {
		parts = append(parts, k+"="+num(e.t, body, "quota_set", k, "in_use")+"/"+num(e.t, body, "quota_set", k, "reserved"))
	}
	return strings.Join(parts, " ")
}

// TestPolicyMultiattachCreate: creating a multiattach volume (of a multiattach type, or with
// the deprecated multiattach flag) needs volume:multiattach on the caller's project, decided
// before anything is written: a refusal leaves no volume and no quota used.
func TestPolicyMultiattachCreate(t *testing.T) {
	deny := map[string]string{"volume:multiattach": "rule:admin_api"}
	const msg = "Policy doesn't allow volume:multiattach to be performed."
	for _, c := range []struct {
		name   string
		strict bool
		rules  map[string]string
		who    map[string]string
		body   string
		status int
	}{
		{name: "member, multiattach type", who: asMember, body: `{"volume": {"size": 1, "volume_type": "multi"}}`, status: 202},
		{name: "member, multiattach flag", who: asMember, body: `{"volume": {"size": 1, "multiattach": true}}`, status: 202},
		{name: "member, enforce_new_defaults", strict: true, who: asMember, body: `{"volume": {"size": 1, "volume_type": "multi"}}`, status: 202},
		{name: "denied: member, multiattach type", rules: deny, who: asMember, body: `{"volume": {"size": 1, "volume_type": "multi"}}`, status: 403},
		{name: "denied: member, multiattach flag", rules: deny, who: asMember, body: `{"volume": {"size": 1, "multiattach": "yes"}}`, status: 403},
		{name: "denied: member, from a multiattach volume (its type)", rules: deny, who: asMember, body: `{"volume": {"source_volid": "{src}"}}`, status: 403},
		{name: "denied: member, not multiattach", rules: deny, who: asMember, body: `{"volume": {"size": 1}}`, status: 202},
		{name: "denied: admin passes admin_api", rules: deny, who: asAdmin, body: `{"volume": {"size": 1, "volume_type": "multi"}}`, status: 202},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, c.strict, c.rules))))
			e.addMultiattachType(multiattachTypeID, "multi")
			body := c.body
			if strings.Contains(body, "{src}") {
				src := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
					AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: multiattachTypeID,
					Host: "host1@lvm#pool", Multiattach: true}
				if _, err := e.store.CreateVolume(context.Background(), src); err != nil {
					t.Fatal(err)
				}
				body = strings.ReplaceAll(body, "{src}", src.ID)
			}
			before, usage := len(e.volumes()), e.quotaUsage()
			sent := len(e.disp.got())
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: body, header: c.who})
			if c.status == http.StatusForbidden {
				wantFault(t, rec, http.StatusForbidden, "forbidden", msg)
				if n := len(e.volumes()); n != before {
					t.Errorf("%d volumes after the refusal, want %d", n, before)
				}
				if got := e.quotaUsage(); got != usage {
					t.Errorf("quota usage %s after the refusal, want %s", got, usage)
				}
				if n := len(e.disp.got()); n != sent {
					t.Errorf("%d messages dispatched by a refused create", n-sent)
				}
				return
			}
			wantStatus(t, rec, c.status)
			if v := e.volume(str(t, obj(t, rec), "volume", "id")); !v.Multiattach && !strings.Contains(c.name, "not multiattach") {
				t.Error("created volume is not multiattach")
			}
		})
	}
	t.Run("the list shows no refused volume", func(t *testing.T) {
		e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, false, deny))))
		e.addMultiattachType(multiattachTypeID, "multi")
		wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "volume_type": "multi"}}`, header: asMember}), http.StatusForbidden)
		if ids := e.listIDs(t, "/v3/p1/volumes", "", asMember); len(ids) != 0 {
			t.Errorf("listed %v", ids)
		}
	})
}

// TestPolicyMultiattachRetype: retyping to a multiattach type a volume that is not
// multiattach needs volume:multiattach on the volume; a refusal leaves its type alone.
// Retyping between multiattach types, or to a plain type, does not ask.
func TestPolicyMultiattachRetype(t *testing.T) {
	deny := map[string]string{"volume:multiattach": "rule:admin_api"}
	const multi2 = "7d0a1c1e-0000-4000-8000-0000000000b2"
	for _, c := range []struct {
		name    string
		rules   map[string]string
		who     map[string]string
		from    string // the volume's type; "" the default type
		to      string
		status  int
		wantTyp string
	}{
		{name: "member to multiattach", who: asMember, to: "multi", status: 202, wantTyp: multiattachTypeID},
		{name: "denied: member to multiattach", rules: deny, who: asMember, to: "multi", status: 403},
		{name: "denied: admin to multiattach", rules: deny, who: asAdmin, to: "multi", status: 202, wantTyp: multiattachTypeID},
		{name: "denied: member between multiattach types", rules: deny, who: asMember, from: multiattachTypeID, to: "multi2", status: 202, wantTyp: multi2},
		{name: "denied: member from multiattach to plain", rules: deny, who: asMember, from: multiattachTypeID, to: db.DefaultVolumeTypeID, status: 202, wantTyp: db.DefaultVolumeTypeID},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withEnforcer(enforcer(t, policyOptions(t, false, c.rules))))
			e.addMultiattachType(multiattachTypeID, "multi")
			e.addMultiattachType(multi2, "multi2")
			from := c.from
			if from == "" {
				from = db.DefaultVolumeTypeID
			}
			// No host: the retype needs no scheduler to check the pool.
			v := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
				AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: from, Multiattach: from != db.DefaultVolumeTypeID}
			if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
				t.Fatal(err)
			}
			rec := e.action(v.ID, `{"os-retype": {"new_type": "`+c.to+`"}}`, c.who)
			after := e.volume(v.ID)
			if c.status == http.StatusForbidden {
				wantFault(t, rec, http.StatusForbidden, "forbidden", "Policy doesn't allow volume:multiattach to be performed.")
				if after.VolumeTypeID != from || after.Multiattach || after.Status != resource.StatusAvailable {
					t.Errorf("after the refusal: type %s, multiattach %v, %s", after.VolumeTypeID, after.Multiattach, after.Status)
				}
				return
			}
			wantStatus(t, rec, c.status)
			if after.VolumeTypeID != c.wantTyp || after.Multiattach != (c.wantTyp != db.DefaultVolumeTypeID) {
				t.Errorf("after retype: type %s, multiattach %v", after.VolumeTypeID, after.Multiattach)
			}
		})
	}
}

// TestPolicyMultiattachBootable: another attachment of a bootable multiattach volume already
// in use needs volume:multiattach_bootable_volume on the volume (Cinder's
// _attachment_reserve); a refusal reserves nothing. The first attachment does not ask.
func TestPolicyMultiattachBootable(t *testing.T) {
	deny := map[string]string{"volume:multiattach_bootable_volume": "rule:admin_api"}
	const (
		inst1 = "11111111-2222-3333-4444-555555555555"
		inst2 = "22222222-2222-3333-4444-555555555555"
	)
	for _, c := range []struct {
		name     string
		strict   bool
		rules    map[string]string
		who      map[string]string
		bootable bool
		status   int
	}{
		{name: "member, defaults", who: asMember, bootable: true, status: 200},
		{name: "member, enforce_new_defaults", strict: true, who: asMember, bootable: true, status: 200},
		{name: "denied: member", rules: deny, who: asMember, bootable: true, status: 403},
		{name: "denied: admin passes admin_api", rules: deny, who: asAdmin, bootable: true, status: 200},
		{name: "denied: member, not bootable", rules: deny, who: asMember, status: 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := attachEnv(t, withEnforcer(enforcer(t, policyOptions(t, c.strict, c.rules))))
			vid := e.attachableVolume(true)
			if err := e.store.SetVolumeBootable(context.Background(), vid, c.bootable, resource.VolumeStatusRule{}); err != nil {
				t.Fatal(err)
			}
			create := func(inst string) call {
				return call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.44", header: c.who,
					body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "instance_uuid": %q, "connector": %s}}`, vid, inst, connectorJSON)}
			}
			// The first attachment of the available volume does not ask the rule.
			rec := e.do(create(inst1))
			wantStatus(t, rec, http.StatusOK)
			aid := str(t, obj(t, rec), "attachment", "id")
			wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", version: "volume 3.44",
				header: c.who, body: `{"os-complete": null}`}), http.StatusNoContent)
			if st, _ := e.volumeStatus(vid); st != resource.StatusInUse {
				t.Fatalf("volume %s after the first attachment", st)
			}
			count := func() int {
				m, err := e.store.VolumesAttachments(context.Background(), []string{vid})
				if err != nil {
					t.Fatal(err)
				}
				return len(m[vid])
			}
			rec = e.do(create(inst2))
			if c.status == http.StatusForbidden {
				wantFault(t, rec, http.StatusForbidden, "forbidden", "Policy doesn't allow volume:multiattach_bootable_volume to be performed.")
				if n := count(); n != 1 {
					t.Errorf("%d attachments after the refusal, want 1", n)
				}
				if st, at := e.volumeStatus(vid); st != resource.StatusInUse || at != resource.AttachAttached {
					t.Errorf("volume %s/%s after the refusal", st, at)
				}
				return
			}
			wantStatus(t, rec, c.status)
			if n := count(); n != 2 {
				t.Errorf("%d attachments, want 2", n)
			}
		})
	}
}
