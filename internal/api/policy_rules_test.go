package api

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
)

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
