package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
)

func TestVolumeActionDispatch(t *testing.T) {
	e := newEnv(t)
	path := "/v3/" + testProject + "/volumes/00000000-0000-0000-0000-000000000001/action"
	tests := []struct {
		name, body string
		wantStatus int
		wantMsg    string
	}{
		{"unknown action", `{"os-no-such-thing": null}`, http.StatusBadRequest, "There is no such action: os-no-such-thing"},
		{"two actions", `{"os-a": null, "os-b": null}`, http.StatusBadRequest, wire.MsgMalformedBody},
		{"no action", `{}`, http.StatusBadRequest, wire.MsgMalformedBody},
		{"not an object", `["os-extend"]`, http.StatusBadRequest, wire.MsgMalformedBody},
		{"empty body", ``, http.StatusBadRequest, wire.MsgMalformedBody},
		{"broken json", `{"os-extend": `, http.StatusBadRequest, wire.MsgMalformedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(call{method: http.MethodPost, path: path, body: tt.body})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			var got map[string]struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if got["badRequest"].Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", got["badRequest"].Message, tt.wantMsg)
			}
		})
	}
}

func TestNoauthRolesHeader(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		roles      string // "" sends no X-Roles
		wantStatus int
	}{
		{"", http.StatusOK},
		{"member", http.StatusForbidden},
		{"reader, member", http.StatusForbidden},
		{"member,admin", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.roles, func(t *testing.T) {
			c := call{method: http.MethodGet, path: "/v3/" + testProject + "/os-services"}
			if tt.roles != "" {
				c.header = map[string]string{"X-Roles": tt.roles}
			}
			rec := e.do(c)
			if rec.Code != tt.wantStatus {
				t.Fatalf("X-Roles %q: status = %d, want %d: %s", tt.roles, rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusForbidden && !strings.Contains(rec.Body.String(), `"forbidden"`) {
				t.Errorf("403 body = %s, want a forbidden fault", rec.Body)
			}
		})
	}
}
