package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// quotaEnv is an API whose defaults are Cinder's (newEnv lifts them).
func quotaEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	if _, err := e.store.UpdateQuotaClass(context.Background(), resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: 10, resource.QuotaSnapshots: 10, resource.QuotaGigabytes: 1000,
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// member tokens: a non-admin of p1, an admin of p2.
var (
	memberOfP1 = map[string]string{"X-Roles": "member"}
	quotaKeys  = []string{"volumes", "per_volume_gigabytes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
		"volumes___DEFAULT__", "gigabytes___DEFAULT__", "snapshots___DEFAULT__", "groups"}
)

func num(t testing.TB, v any, path ...any) string {
	t.Helper()
	n, ok := member(t, v, path...).(json.Number)
	if !ok {
		t.Fatalf("%v is %s, not a number", path, wire.PyRepr(member(t, v, path...)))
	}
	return n.String()
}

func TestShowQuotas(t *testing.T) {
	e := quotaEnv(t)
	wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 3}}`}), http.StatusAccepted)

	rec := e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1"})
	wantStatus(t, rec, http.StatusOK)
	body := obj(t, rec)
	sameKeys(t, "quota_set", keysOf(t, member(t, body, "quota_set")), append(quotaKeys, "id"))
	for k, want := range map[string]string{"volumes": "10", "per_volume_gigabytes": "-1", "snapshots": "10", "gigabytes": "1000",
		"backups": "10", "backup_gigabytes": "1000", "volumes___DEFAULT__": "-1", "groups": "10"} {
		if got := num(t, body, "quota_set", k); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if got := str(t, body, "quota_set", "id"); got != "p1" {
		t.Errorf("id = %q", got)
	}

	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=true"})
	wantStatus(t, rec, http.StatusOK)
	body = obj(t, rec)
	sameKeys(t, "quota_set", keysOf(t, member(t, body, "quota_set")), append(quotaKeys, "id"))
	sameKeys(t, "volumes", keysOf(t, member(t, body, "quota_set", "volumes")), []string{"limit", "in_use", "reserved"})
	for k, want := range map[string][3]string{
		"volumes": {"10", "1", "0"}, "gigabytes": {"1000", "3", "0"}, "gigabytes___DEFAULT__": {"-1", "3", "0"}, "snapshots": {"10", "0", "0"},
	} {
		got := [3]string{num(t, body, "quota_set", k, "limit"), num(t, body, "quota_set", k, "in_use"), num(t, body, "quota_set", k, "reserved")}
		if got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	// usage=false is the plain set.
	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=false"})
	wantStatus(t, rec, http.StatusOK)
	if got := num(t, obj(t, rec), "quota_set", "volumes"); got != "10" {
		t.Errorf("usage=false: volumes = %s", got)
	}

	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1/defaults"})
	wantStatus(t, rec, http.StatusOK)
	sameKeys(t, "defaults", keysOf(t, member(t, obj(t, rec), "quota_set")), append(quotaKeys, "id"))
}

func TestShowQuotasRefusals(t *testing.T) {
	e := quotaEnv(t)
	tests := []struct {
		name   string
		c      call
		status int
		fault  string
		msg    string
	}{
		{"member of another project", call{method: "GET", path: "/v3/p1/os-quota-sets/p2", header: memberOfP1},
			403, "forbidden", "Policy doesn't allow volume_extension:quotas:show to be performed."},
		{"member: defaults of another project", call{method: "GET", path: "/v3/p1/os-quota-sets/p2/defaults", header: memberOfP1},
			403, "forbidden", "Policy doesn't allow volume_extension:quotas:show to be performed."},
		{"usage not a boolean", call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=maybe"},
			400, "badRequest", "Value 'maybe' for 'usage' is not a boolean."},
		{"member: PUT", call{method: "PUT", path: "/v3/p1/os-quota-sets/p1", header: memberOfP1, body: `{"quota_set": {"volumes": 5}}`},
			403, "forbidden", "Policy doesn't allow volume_extension:quotas:update to be performed."},
		{"member: DELETE", call{method: "DELETE", path: "/v3/p1/os-quota-sets/p1", header: memberOfP1},
			403, "forbidden", "Policy doesn't allow volume_extension:quotas:delete to be performed."},
		{"member: class", call{method: "GET", path: "/v3/p1/os-quota-class-sets/default", header: memberOfP1},
			403, "forbidden", "Policy doesn't allow volume_extension:quota_classes:get to be performed."},
		{"member: class PUT", call{method: "PUT", path: "/v3/p1/os-quota-class-sets/default", header: memberOfP1, body: `{"quota_class_set": {"volumes": 5}}`},
			403, "forbidden", "Policy doesn't allow volume_extension:quota_classes:update to be performed."},
		{"member: limits of another project", call{method: "GET", path: "/v3/p1/limits?project_id=p2", header: memberOfP1, version: "volume 3.39"},
			403, "forbidden", "Policy doesn't allow limits_extension:used_limits to be performed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFault(t, e.do(tt.c), tt.status, tt.fault, tt.msg)
		})
	}
	// A member sees its own project's quotas.
	wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=true", header: memberOfP1}), http.StatusOK)
	wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/limits", header: memberOfP1}), http.StatusOK)
}

func TestUpdateQuotas(t *testing.T) {
	e := quotaEnv(t)
	wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 3}}`}), http.StatusAccepted)

	rec := e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p2", body: `{"quota_set": {"volumes": 5, "gigabytes": "20", "volumes___DEFAULT__": -1, "tenant_id": "x", "id": "y"}}`})
	wantStatus(t, rec, http.StatusOK)
	body := obj(t, rec)
	sameKeys(t, "quota_set", keysOf(t, member(t, body, "quota_set")), quotaKeys) // no id, as Cinder
	if got := num(t, body, "quota_set", "volumes"); got != "5" {
		t.Errorf("volumes = %s", got)
	}
	if got := num(t, body, "quota_set", "gigabytes"); got != "20" {
		t.Errorf("gigabytes = %s", got)
	}
	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p2"})
	if got := num(t, obj(t, rec), "quota_set", "volumes"); got != "5" {
		t.Errorf("GET after PUT: volumes = %s", got)
	}

	tests := []struct{ name, body, msg string }{
		{"no body", ``, "None is not of type 'object'"},
		{"no quota_set", `{}`, "'quota_set' is a required property"},
		{"extra member", `{"quota_set": {"volumes": 1}, "skip_validation": false}`, "Additional properties are not allowed ('skip_validation' was unexpected)"},
		{"quota_set not an object", `{"quota_set": 5}`, "Invalid input for field/attribute quota_set. Value: 5. 5 is not of type 'object'"},
		{"empty quota_set", `{"quota_set": {}}`, "Invalid input for field/attribute quota_set. Value: {}. {} does not have enough properties"},
		{"unknown keys", `{"quota_set": {"foo": 1, "volumes": 2, "volumes_nosuchtype": 1}}`, "Invalid input received: Bad key(s) in quota set: foo, volumes_nosuchtype"},
		{"not an integer", `{"quota_set": {"volumes": "ten"}}`, "volumes must be an integer"},
		{"a float", `{"quota_set": {"gigabytes": 1.5}}`, "gigabytes must be an integer"},
		{"a boolean", `{"quota_set": {"snapshots": true}}`, "snapshots must be an integer"},
		{"null", `{"quota_set": {"snapshots": null}}`, "snapshots must be an integer"},
		{"below -1", `{"quota_set": {"volumes": -2}}`, "volumes must be >= -1"},
		{"too large", `{"quota_set": {"volumes": 2147483648}}`, "volumes must be <= 2147483647"},
		{"value checked before bad keys", `{"quota_set": {"foo": 1, "volumes": "x"}}`, "volumes must be an integer"},
		{"below usage", `{"quota_set": {"gigabytes": 2}}`,
			"Quota gigabytes limit must be equal or greater than existing resources. Current usage is 3 and the requested limit is 2."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p1", body: tt.body}), 400, "badRequest", tt.msg)
		})
	}
	// Nothing of the refused updates stuck.
	if got := num(t, obj(t, e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1"})), "quota_set", "volumes"); got != "10" {
		t.Errorf("volumes = %s after refused updates", got)
	}
	// Neither a limit of -1 nor per_volume_gigabytes is held against usage.
	wantStatus(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p1", body: `{"quota_set": {"gigabytes": -1, "per_volume_gigabytes": 1}}`}), http.StatusOK)

	// DELETE: the defaults are back.
	rec = e.do(call{method: "DELETE", path: "/v3/p1/os-quota-sets/p2"})
	wantStatus(t, rec, http.StatusOK)
	if rec.Body.Len() != 0 {
		t.Errorf("DELETE body %q", rec.Body)
	}
	if got := num(t, obj(t, e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p2"})), "quota_set", "volumes"); got != "10" {
		t.Errorf("volumes = %s after DELETE, want the default", got)
	}
}

func TestOverQuotaAnswers413(t *testing.T) {
	e := quotaEnv(t)
	wantStatus(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p1", body: `{"quota_set": {"volumes": 1, "gigabytes": 10, "per_volume_gigabytes": 8}}`}), http.StatusOK)
	create := func(size string) call {
		return call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": ` + size + `}}`}
	}
	wantFault(t, e.do(create("9")), 413, "overLimit", "Requested volume size 9G is larger than maximum allowed limit 8G.")
	wantStatus(t, e.do(create("6")), http.StatusAccepted)
	wantFault(t, e.do(create("5")), 413, "overLimit",
		"Requested volume or snapshot exceeds allowed gigabytes quota. Requested 5G, quota is 10G and 6G has been consumed.")
	wantFault(t, e.do(create("1")), 413, "overLimit", "Maximum number of volumes allowed (1) exceeded for quota 'volumes'.")
	rec := e.do(call{method: "GET", path: "/v3/p1/limits"})
	wantStatus(t, rec, http.StatusOK)
	if got := num(t, obj(t, rec), "limits", "absolute", "totalVolumesUsed"); got != "1" {
		t.Errorf("totalVolumesUsed = %s after refusals, want 1", got)
	}
}

func TestQuotaClasses(t *testing.T) {
	e := quotaEnv(t)
	rec := e.do(call{method: "GET", path: "/v3/p1/os-quota-class-sets/default"})
	wantStatus(t, rec, http.StatusOK)
	body := obj(t, rec)
	sameKeys(t, "quota_class_set", keysOf(t, member(t, body, "quota_class_set")), append(quotaKeys, "id"))
	if got := str(t, body, "quota_class_set", "id"); got != "default" {
		t.Errorf("id = %q", got)
	}

	rec = e.do(call{method: "PUT", path: "/v3/p1/os-quota-class-sets/default", body: `{"quota_class_set": {"volumes": 15, "snapshots___DEFAULT__": 4}}`})
	wantStatus(t, rec, http.StatusOK)
	body = obj(t, rec)
	sameKeys(t, "quota_class_set", keysOf(t, member(t, body, "quota_class_set")), quotaKeys)
	if got := num(t, body, "quota_class_set", "volumes"); got != "15" {
		t.Errorf("volumes = %s", got)
	}
	// Every project without limits of its own has the class's.
	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p9"})
	if got := num(t, obj(t, rec), "quota_set", "snapshots___DEFAULT__"); got != "4" {
		t.Errorf("p9 snapshots___DEFAULT__ = %s, want the class's 4", got)
	}
	rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p9/defaults"})
	if got := num(t, obj(t, rec), "quota_set", "volumes"); got != "15" {
		t.Errorf("defaults: volumes = %s, want 15", got)
	}

	for _, tt := range []struct{ name, body, msg string }{
		{"unknown key", `{"quota_class_set": {"volumes": 1, "bogus": 2}}`, "Invalid input received: Bad key(s) in quota class set: bogus"},
		{"no quota_class_set", `{"quota_set": {"volumes": 1}}`, "Additional properties are not allowed ('quota_set' was unexpected)"},
		{"not an integer", `{"quota_class_set": {"volumes": "x"}}`, "volumes must be an integer"},
		{"below -1", `{"quota_class_set": {"volumes": -5}}`, "volumes must be >= -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-class-sets/default", body: tt.body}), 400, "badRequest", tt.msg)
		})
	}
}

func TestLimits(t *testing.T) {
	e := quotaEnv(t)
	wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 2}}`}), http.StatusAccepted)
	wantStatus(t, e.do(call{method: "POST", path: "/v3/p2/volumes", body: `{"volume": {"size": 2}}`, token: "u2:p2"}), http.StatusAccepted)
	rec := e.do(call{method: "GET", path: "/v3/p1/limits"})
	wantStatus(t, rec, http.StatusOK)
	body := obj(t, rec)
	sameKeys(t, "limits", keysOf(t, member(t, body, "limits")), []string{"rate", "absolute"})
	if got := member(t, body, "limits", "rate").([]any); len(got) != 0 {
		t.Errorf("rate = %v", got)
	}
	abs := member(t, body, "limits", "absolute")
	want := [][2]string{{"maxTotalVolumes", "10"}, {"maxTotalSnapshots", "10"}, {"maxTotalVolumeGigabytes", "1000"},
		{"maxTotalBackups", "10"}, {"maxTotalBackupGigabytes", "1000"}, {"totalVolumesUsed", "1"}, {"totalGigabytesUsed", "2"},
		{"totalSnapshotsUsed", "0"}, {"totalBackupsUsed", "0"}, {"totalBackupGigabytesUsed", "0"}}
	var names []string
	for _, w := range want {
		names = append(names, w[0])
		if got := num(t, abs, w[0]); got != w[1] {
			t.Errorf("%s = %s, want %s", w[0], got, w[1])
		}
	}
	sameKeys(t, "absolute", keysOf(t, abs), names)

	// From 3.39 an admin names another project; before, the parameter is ignored.
	wantStatus(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p2", body: `{"quota_set": {"volumes": 3}}`}), http.StatusOK)
	rec = e.do(call{method: "GET", path: "/v3/p1/limits?project_id=p2", version: "volume 3.39"})
	if got := num(t, obj(t, rec), "limits", "absolute", "maxTotalVolumes"); got != "3" {
		t.Errorf("3.39 project_id=p2: maxTotalVolumes = %s, want 3", got)
	}
	rec = e.do(call{method: "GET", path: "/v3/p1/limits?project_id=p2", version: "volume 3.38"})
	if got := num(t, obj(t, rec), "limits", "absolute", "maxTotalVolumes"); got != "10" {
		t.Errorf("3.38 project_id=p2: maxTotalVolumes = %s, want p1's 10", got)
	}
}
