package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeAttachCinder adds the attachments API to fakeCinder: a POST with a connector reserves
// an available volume and answers connection_info, os-complete makes it in-use, and DELETE
// makes it available again. Each step takes its delay, so latencies can be checked.
type fakeAttachCinder struct {
	*fakeCinder
	createDelay, completeDelay, deleteDelay time.Duration
	noConnectionInfo                        bool // answer the create with connection_info {}
	refuseComplete                          func(n int) bool
	atts                                    map[string]string // attachment → volume
	creates, completes, deletes             int
}

func (f *fakeAttachCinder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v3/demo")
	if !strings.HasPrefix(path, "/attachments") {
		f.fakeCinder.ServeHTTP(w, r)
		return
	}
	bad := func(code int, msg string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"badRequest": {"code": %d, "message": %q}}`, code, msg)
	}
	if r.Header.Get("OpenStack-API-Version") != "volume 3.54" {
		bad(404, "attachments need a microversion")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "POST" && path == "/attachments":
		time.Sleep(f.createDelay)
		var in struct {
			Attachment struct {
				VolumeUUID string         `json:"volume_uuid"`
				Mode       string         `json:"mode"`
				Connector  map[string]any `json:"connector"`
			} `json:"attachment"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Attachment.Mode != "rw" || in.Attachment.Connector["initiator"] == nil {
			bad(400, "bad attachment")
			return
		}
		v, ok := f.vols[in.Attachment.VolumeUUID]
		if !ok || v.status != "available" {
			bad(400, "volume not available")
			return
		}
		f.creates++
		v.status = "reserved"
		id := fmt.Sprintf("att-%d", f.creates)
		f.atts[id] = v.id
		info := `{"driver_volume_type": "iscsi", "target_iqn": "iqn.x:` + v.id + `"}`
		if f.noConnectionInfo {
			info = `{}`
		}
		fmt.Fprintf(w, `{"attachment": {"id": %q, "status": "reserved", "volume_id": %q, "connection_info": %s}}`, id, v.id, info)
	case r.Method == "POST" && strings.HasSuffix(path, "/action"):
		time.Sleep(f.completeDelay)
		vid, ok := f.atts[strings.TrimSuffix(strings.TrimPrefix(path, "/attachments/"), "/action")]
		if !ok {
			bad(404, "no such attachment")
			return
		}
		f.completes++
		if f.refuseComplete != nil && f.refuseComplete(f.completes) {
			bad(409, "refused")
			return
		}
		f.vols[vid].status = "in-use"
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "DELETE":
		time.Sleep(f.deleteDelay)
		id := strings.TrimPrefix(path, "/attachments/")
		vid, ok := f.atts[id]
		if !ok {
			bad(404, "no such attachment")
			return
		}
		f.deletes++
		delete(f.atts, id)
		f.vols[vid].status = "available"
		fmt.Fprint(w, `{"attachments": []}`)
	default:
		bad(404, "no such route")
	}
}

// TestRunAttachPhases checks the attach and detach phases' accounting: what counts as an
// attach (create with connection_info, then complete), its latency (the create through the
// complete), that every created attachment is detached, and that the volumes are deleted.
func TestRunAttachPhases(t *testing.T) {
	const n = 12
	for _, tc := range []struct {
		name             string
		attach           bool
		noInfo           bool
		refuse           func(int) bool
		attachOK, failed int
		completes        int
		firstErr         string
	}{
		{name: "off", attach: false},
		{name: "all attach", attach: true, attachOK: n, completes: n},
		{name: "complete refused for every third", attach: true, refuse: func(i int) bool { return i%3 == 0 },
			attachOK: n - n/3, failed: n / 3, completes: n, firstErr: "409"},
		{name: "no connection info", attach: true, noInfo: true, failed: n, firstErr: "no connection_info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeAttachCinder{fakeCinder: &fakeCinder{delay: time.Millisecond, vols: map[string]*fakeVolume{}},
				createDelay: 3 * time.Millisecond, completeDelay: 3 * time.Millisecond, deleteDelay: 2 * time.Millisecond,
				noConnectionInfo: tc.noInfo, refuseComplete: tc.refuse, atts: map[string]string{}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			var hooks []string
			hook := func(phase string, end bool) {
				if !end {
					hooks = append(hooks, phase)
				}
			}
			res, err := Run(context.Background(), Config{Endpoint: srv.URL + "/v3", N: n, C: 4, Gets: -1, Poll: time.Millisecond, Attach: tc.attach, Hook: hook})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.attach {
				if res.Attach.Name != "" || res.Detach.Name != "" || fake.creates+fake.deletes != 0 {
					t.Errorf("attach off: attach %+v detach %+v, %d creates %d deletes", res.Attach, res.Detach, fake.creates, fake.deletes)
				}
				if got := strings.Join(hooks, ","); got != "create→available,delete→gone" {
					t.Errorf("phases %s", got)
				}
				return
			}
			if got := strings.Join(hooks, ","); got != "create→available,attach,detach,delete→gone" {
				t.Errorf("phases %s", got)
			}
			a, d := res.Attach, res.Detach
			if a.OK != tc.attachOK || a.Errors != tc.failed || a.Latency.N != tc.attachOK {
				t.Errorf("attach ok %d errors %d latencies %d, want %d %d", a.OK, a.Errors, a.Latency.N, tc.attachOK, tc.failed)
			}
			if !strings.Contains(a.FirstErr, tc.firstErr) || (tc.firstErr == "") != (a.FirstErr == "") {
				t.Errorf("attach first error %q, want one with %q", a.FirstErr, tc.firstErr)
			}
			if a.Requests != int64(n+tc.completes) || fake.completes != tc.completes {
				t.Errorf("attach requests %d, complete calls %d: want %d creates + %d completes", a.Requests, fake.completes, n, tc.completes)
			}
			if tc.attachOK > 0 && a.Latency.Min < fake.createDelay+fake.completeDelay {
				t.Errorf("attach min latency %v: shorter than create + complete (%v)", a.Latency.Min, fake.createDelay+fake.completeDelay)
			}
			// every created attachment is detached, whether its complete succeeded or not
			if d.OK != n || d.Errors != 0 || d.Requests != n || d.Latency.Min < fake.deleteDelay || len(fake.atts) != 0 {
				t.Errorf("detach %+v, %d attachments left", d, len(fake.atts))
			}
			if res.Delete.OK != n || res.Delete.Errors != 0 || len(fake.vols) != 0 {
				t.Errorf("delete %+v, %d volumes left", res.Delete, len(fake.vols))
			}
			if res.Errors() != tc.failed {
				t.Errorf("Errors() %d, want %d", res.Errors(), tc.failed)
			}
			var out strings.Builder
			if err := res.WriteTable(&out); err != nil || !strings.Contains(out.String(), "\nattach ") || !strings.Contains(out.String(), "\ndetach ") {
				t.Errorf("table without the attach phases: %v\n%s", err, out.String())
			}
		})
	}
}
