package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
)

// passes marks a case whose caller the policy lets through: the handler answers, with
// anything but 403, 404 or a 5xx.
const passes = -1

// withEnforcer makes the server decide with e.
func withEnforcer(e *policy.Enforcer) func(*Options) {
	return func(o *Options) { o.Policy = e }
}

func enforcer(t *testing.T, o policy.Options) *policy.Enforcer {
	t.Helper()
	e, err := policy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// policyCase is one request of one persona and the status Cinder's policy gives it, under
// Zed's defaults (legacy admin_or_owner strings still pass) and with enforce_new_defaults.
type policyCase struct {
	name, who, method, path, version, body string
	legacy, strict                         int
}

// ownVolume makes an available volume of project on the attach backend's host.
func (e *env) ownVolume(project string) string {
	e.t.Helper()
	v := &resource.Volume{ProjectID: project, UserID: "owner", Size: 1, Status: resource.StatusAvailable,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID,
		Host: attachHost + "#file"}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

// endpointPolicyCases: a representative endpoint of each area (volumes, volume actions,
// snapshots, attachments, messages, types, an admin API) for the admin, a member (alice), a
// reader of the same project (carol) and a member of another project (bob). {vol} is a
// volume of alice's project made for the case, {snap} a snapshot of alice's project.
func endpointPolicyCases() []policyCase {
	return []policyCase{
		{"show volume", "admin", "GET", "/volumes/{vol}", "", "", 200, 200},
		{"show volume", "alice", "GET", "/volumes/{vol}", "", "", 200, 200},
		{"show volume", "carol", "GET", "/volumes/{vol}", "", "", 200, 200},
		{"show volume", "bob", "GET", "/volumes/{vol}", "", "", 404, 404},
		{"list volumes", "carol", "GET", "/volumes/detail", "", "", 200, 200},
		{"list volumes", "bob", "GET", "/volumes/detail", "", "", 200, 200},
		{"create volume", "alice", "POST", "/volumes", "", `{"volume": {"size": 1}}`, 202, 202},
		{"create volume", "carol", "POST", "/volumes", "", `{"volume": {"size": 1}}`, 202, 403}, // Zed's deprecated rule is ""
		{"update volume", "alice", "PUT", "/volumes/{vol}", "", `{"volume": {"name": "n"}}`, 200, 200},
		{"update volume", "carol", "PUT", "/volumes/{vol}", "", `{"volume": {"name": "n"}}`, 200, 403},
		{"update volume", "bob", "PUT", "/volumes/{vol}", "", `{"volume": {"name": "n"}}`, 404, 404},
		{"delete volume", "admin", "DELETE", "/volumes/{vol}", "", "", 202, 202},
		{"delete volume", "alice", "DELETE", "/volumes/{vol}", "", "", 202, 202},
		{"delete volume", "carol", "DELETE", "/volumes/{vol}", "", "", 202, 403},
		{"delete volume", "bob", "DELETE", "/volumes/{vol}", "", "", 404, 404},
		{"extend volume", "alice", "POST", "/volumes/{vol}/action", "", `{"os-extend": {"new_size": 2}}`, passes, passes},
		{"extend volume", "carol", "POST", "/volumes/{vol}/action", "", `{"os-extend": {"new_size": 2}}`, passes, 403},
		{"extend volume", "bob", "POST", "/volumes/{vol}/action", "", `{"os-extend": {"new_size": 2}}`, 404, 404},
		{"reserve volume", "carol", "POST", "/volumes/{vol}/action", "", `{"os-reserve": null}`, passes, 403},
		{"reset volume status", "alice", "POST", "/volumes/{vol}/action", "", `{"os-reset_status": {"status": "error"}}`, 403, 403},
		{"reset volume status", "admin", "POST", "/volumes/{vol}/action", "", `{"os-reset_status": {"status": "error"}}`, 202, 202},
		{"show snapshot", "carol", "GET", "/snapshots/{snap}", "", "", 200, 200},
		{"show snapshot", "bob", "GET", "/snapshots/{snap}", "", "", 404, 404},
		{"list snapshots", "carol", "GET", "/snapshots", "", "", 200, 200},
		{"create snapshot", "alice", "POST", "/snapshots", "", `{"snapshot": {"volume_id": "{vol}"}}`, 202, 202},
		{"create snapshot", "carol", "POST", "/snapshots", "", `{"snapshot": {"volume_id": "{vol}"}}`, 202, 403},
		{"create snapshot", "bob", "POST", "/snapshots", "", `{"snapshot": {"volume_id": "{vol}"}}`, 404, 404},
		{"delete snapshot", "carol", "DELETE", "/snapshots/{snap}", "", "", passes, 403},
		{"delete snapshot", "bob", "DELETE", "/snapshots/{snap}", "", "", 404, 404},
		{"create attachment", "alice", "POST", "/attachments", "volume 3.27", `{"attachment": {"volume_uuid": "{vol}", "instance_uuid": "11111111-2222-3333-4444-555555555555"}}`, 200, 200},
		{"create attachment", "carol", "POST", "/attachments", "volume 3.27", `{"attachment": {"volume_uuid": "{vol}", "instance_uuid": "11111111-2222-3333-4444-555555555555"}}`, 200, 403},
		{"create attachment", "bob", "POST", "/attachments", "volume 3.27", `{"attachment": {"volume_uuid": "{vol}", "instance_uuid": "11111111-2222-3333-4444-555555555555"}}`, 404, 404},
		{"list attachments", "carol", "GET", "/attachments", "volume 3.27", "", 200, 200},
		{"list messages", "carol", "GET", "/messages", "volume 3.3", "", 200, 200},
		{"list messages", "bob", "GET", "/messages", "volume 3.3", "", 200, 200},
		{"delete message", "alice", "DELETE", "/messages/00000000-0000-0000-0000-000000000000", "volume 3.3", "", 404, 404},
		{"delete message", "carol", "DELETE", "/messages/00000000-0000-0000-0000-000000000000", "volume 3.3", "", 404, 404}, // not found before the policy, as Cinder
		{"list types", "carol", "GET", "/types", "", "", 200, 200},
		{"show type", "bob", "GET", "/types/" + db.DefaultVolumeTypeID, "", "", 200, 200},
		{"create type", "alice", "POST", "/types", "", `{"volume_type": {"name": "t"}}`, 403, 403},
		{"list services", "carol", "GET", "/os-services", "", "", 403, 403},
		{"list services", "admin", "GET", "/os-services", "", "", 200, 200},
	}
}

// matrix is the environment of a policy matrix: the server and alice's project and
// credentials, which own the objects the cases act on.
type matrix struct {
	e                         *env
	alicesProject, aliceToken string
	aliceHeader               map[string]string
	personaHeader             map[string]map[string]string
}

// runPolicyCase sends c as the persona's token (any string works under noauth) and checks
// the status.
func runPolicyCase(t *testing.T, m *matrix, c policyCase, token, project string, want int) {
	t.Helper()
	e, alice := m.e, m.alicesProject
	path := c.path
	body := c.body
	if strings.Contains(path+body, "{vol}") {
		vol := e.ownVolume(alice)
		path, body = strings.ReplaceAll(path, "{vol}", vol), strings.ReplaceAll(body, "{vol}", vol)
	}
	if strings.Contains(path, "{snap}") {
		vol := e.ownVolume(alice)
		rec := e.do(call{method: "POST", path: "/v3/" + alice + "/snapshots", token: m.aliceToken, header: m.aliceHeader,
			body: fmt.Sprintf(`{"snapshot": {"volume_id": %q}}`, vol)})
		if rec.Code != http.StatusAccepted {
			t.Fatalf("alice's snapshot: %d %s", rec.Code, rec.Body)
		}
		path = strings.ReplaceAll(path, "{snap}", str(t, obj(t, rec), "snapshot", "id"))
	}
	rec := e.do(call{method: c.method, path: "/v3/" + project + path, version: c.version, body: body, token: token, header: m.personaHeader[c.who]})
	got := rec.Code
	if want == passes {
		if got == http.StatusForbidden || got == http.StatusNotFound || got >= 500 {
			t.Errorf("%s as %s: %d, want the policy to pass: %s", c.name, c.who, got, rec.Body)
		}
		return
	}
	if got != want {
		t.Errorf("%s as %s: %d, want %d: %s", c.name, c.who, got, want, rec.Body)
	}
	if want == http.StatusForbidden && !strings.Contains(rec.Body.String(), `"forbidden"`) {
		t.Errorf("%s as %s: 403 body %s", c.name, c.who, rec.Body)
	}
}

// TestKeystoneEndpointPolicy: the matrix with real Keystone tokens, under Zed's defaults
// and under enforce_new_defaults.
func TestKeystoneEndpointPolicy(t *testing.T) {
	requireTestKeystone(t)
	v := keystoneValidator(t, testKeystone)
	personas := map[string]persona{
		"alice": login(t, v, "alice", "alice-secret", "demo-a"),
		"bob":   login(t, v, "bob", "bob-secret", "demo-b"),
		"carol": login(t, v, "carol", "carol-secret", "demo-a"),
		"admin": login(t, v, "admin", "admin-secret", "admin"),
	}
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("enforce_new_defaults=%v", strict), func(t *testing.T) {
			e := attachEnv(t, withKeystone(v), withEnforcer(enforcer(t, policy.Options{EnforceNewDefaults: strict})))
			m := &matrix{e: e, alicesProject: personas["alice"].project, aliceToken: personas["alice"].token}
			for _, c := range endpointPolicyCases() {
				want := c.legacy
				if strict {
					want = c.strict
				}
				p := personas[c.who]
				runPolicyCase(t, m, c, p.token, p.project, want)
			}
		})
	}
}

// TestNoauthEndpointPolicy: under noauth the same matrix with X-Roles personas (no header
// is an admin), so noauth callers keep their behaviour: admins and members pass, a reader
// is refused only under enforce_new_defaults.
func TestNoauthEndpointPolicy(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("enforce_new_defaults=%v", strict), func(t *testing.T) {
			e := attachEnv(t, withEnforcer(enforcer(t, policy.Options{EnforceNewDefaults: strict})))
			// Keystone's implied roles give a member the reader role as well; noauth callers
			// name all their roles.
			member := map[string]string{"X-Roles": "member,reader"}
			m := &matrix{e: e, alicesProject: "demo-a", aliceToken: "alice:demo-a", aliceHeader: member,
				personaHeader: map[string]map[string]string{"alice": member, "bob": member, "carol": {"X-Roles": "reader"}}}
			tokens := map[string][2]string{"admin": {"admin:admin", "admin"}, "alice": {"alice:demo-a", "demo-a"},
				"bob": {"bob:demo-b", "demo-b"}, "carol": {"carol:demo-a", "demo-a"}}
			for _, c := range endpointPolicyCases() {
				want := c.legacy
				if strict {
					want = c.strict
				}
				tok := tokens[c.who]
				runPolicyCase(t, m, c, tok[0], tok[1], want)
			}
		})
	}
}

// TestPolicyFileOverride: an operator's policy file that makes volume:delete admin-only
// turns a member's delete into 403 and leaves the rest of the defaults alone.
func TestPolicyFileOverride(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(`"volume:delete": "role:admin"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := attachEnv(t, withEnforcer(enforcer(t, policy.Options{File: file})))
	member := map[string]string{"X-Roles": "member"}
	for _, c := range []struct {
		name   string
		token  string
		header map[string]string
		method string
		want   int
	}{
		{"member deletes", "alice:demo-a", member, "DELETE", http.StatusForbidden},
		{"member shows", "alice:demo-a", member, "GET", http.StatusOK},
		{"admin deletes", "admin:admin", nil, "DELETE", http.StatusAccepted},
	} {
		vol := e.ownVolume("demo-a")
		project := strings.SplitN(c.token, ":", 2)[1]
		rec := e.do(call{method: c.method, path: "/v3/" + project + "/volumes/" + vol, token: c.token, header: c.header})
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, rec.Code, c.want, rec.Body)
		}
		if c.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "Policy doesn't allow volume:delete to be performed.") {
			t.Errorf("%s: body %s", c.name, rec.Body)
		}
	}
}

// TestKeystoneVersionDocuments: as in Cinder's api-paste, / answers without a token and
// /v3/ sits behind keystonemiddleware (401 without a token, the document with one); under
// noauth /v3/ answers anyone.
func TestKeystoneVersionDocuments(t *testing.T) {
	requireTestKeystone(t)
	v := keystoneValidator(t, testKeystone)
	e := newEnv(t, withKeystone(v))
	alice := login(t, v, "alice", "alice-secret", "demo-a")
	noauth := newEnv(t)
	for _, c := range []struct {
		name  string
		e     *env
		path  string
		token string
		want  int
	}{
		{"keystone / without a token", e, "/", "-", http.StatusMultipleChoices},
		{"keystone /v3/ without a token", e, "/v3/", "-", http.StatusUnauthorized},
		{"keystone /v3 without a token", e, "/v3", "-", http.StatusUnauthorized},
		{"keystone /v3/ with a token", e, "/v3/", alice.token, http.StatusOK},
		{"noauth /v3/ without a token", noauth, "/v3/", "-", http.StatusOK},
	} {
		if rec := c.e.do(call{method: "GET", path: c.path, token: c.token}); rec.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, rec.Code, c.want, rec.Body)
		}
	}
}
