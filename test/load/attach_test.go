package load

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunAttachPhases checks the attach and detach phases' accounting: what counts as an
// attach (create with connection_info, then complete), its latency (the create through the
// complete), that every created attachment is detached, and that the volumes are deleted.
func TestRunAttachPhases(t *testing.T) {
	const n = 9 // under the default quota of 10 volumes
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
			api := allInOne(t)
			api.noConnectionInfo, api.refuseComplete = tc.noInfo, tc.refuse
			var hooks []string
			hook := func(phase string, end bool) {
				if !end {
					hooks = append(hooks, phase)
				}
			}
			res, err := Run(context.Background(), Config{Endpoint: api.URL + "/v3", N: n, C: 4, Gets: -1, Poll: time.Millisecond, Attach: tc.attach, Hook: hook})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.attach {
				if res.Attach.Name != "" || res.Detach.Name != "" || api.count("POST /attachments")+api.count("DELETE /attachments/{id}") != 0 {
					t.Errorf("attach off: attach %+v detach %+v, %d creates %d deletes", res.Attach, res.Detach,
						api.count("POST /attachments"), api.count("DELETE /attachments/{id}"))
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
			if completes := api.count("POST /attachments/{id}/action"); a.Requests != int64(n+tc.completes) || completes != tc.completes {
				t.Errorf("attach requests %d, complete calls %d: want %d creates + %d completes", a.Requests, completes, n, tc.completes)
			}
			// every created attachment is detached, whether its complete succeeded or not
			if d.OK != n || d.Errors != 0 || d.Requests != n || api.count("DELETE /attachments/{id}") != n {
				t.Errorf("detach %+v, %d attachment deletes", d, api.count("DELETE /attachments/{id}"))
			}
			if left := api.left(t); res.Delete.OK != n || res.Delete.Errors != 0 || len(left) != 0 {
				t.Errorf("delete %+v, %d volumes left", res.Delete, len(left))
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
