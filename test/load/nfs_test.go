package load

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunCopiesAgainstAllInOne runs the copy phases through the real API of the all-in-one
// (local-file backend, which clones and snapshots too): every volume gets one clone and one
// snapshot, the API sees exactly those requests, and nothing is left.
func TestRunCopiesAgainstAllInOne(t *testing.T) {
	const n = 4 // n volumes + n clones stay under the default quota of 10 volumes
	tests := []struct {
		name   string
		copies Copies
		clones int // clones (and clone deletes) the API must get
		snaps  int // snapshots (and snapshot deletes) the API must get
	}{
		{"clones and snapshots", Copies{Clones: true, Snapshots: true}, n, n},
		{"clones only", Copies{Clones: true}, n, 0},
		{"snapshots only", Copies{Snapshots: true}, 0, n},
		{"neither: Run's phases", Copies{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := allInOne(t)
			var hooks []string
			hook := func(phase string, end bool) {
				if !end {
					hooks = append(hooks, phase)
				}
			}
			res, cres, err := RunCopies(context.Background(), Config{Endpoint: api.URL + "/v3", N: n, C: 2, Gets: -1, Poll: 2 * time.Millisecond, Hook: hook}, tt.copies)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors() != 0 || cres.Errors() != 0 {
				t.Fatalf("errors: %+v %+v", res.Phases(), cres.Phases())
			}
			if res.Create.OK != n || res.Delete.OK != n {
				t.Errorf("create %d delete %d ok, want %d each", res.Create.OK, res.Delete.OK, n)
			}
			checks := []struct {
				what      string
				got, want int
			}{
				{"clones ok", cres.CloneCreate.OK, tt.clones},
				{"clone deletes ok", cres.CloneDelete.OK, tt.clones},
				{"snapshots ok", cres.SnapshotCreate.OK, tt.snaps},
				{"snapshot deletes ok", cres.SnapshotDelete.OK, tt.snaps},
				{"POST /volumes", api.count("POST /volumes"), n + tt.clones},
				{"DELETE /volumes/{id}", api.count("DELETE /volumes/{id}"), n + tt.clones},
				{"POST /snapshots", api.count("POST /snapshots"), tt.snaps},
				{"DELETE /snapshots/{id}", api.count("DELETE /snapshots/{id}"), tt.snaps},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
				}
			}
			// A snapshot is seen available, then gone, by at least one poll after its request.
			if tt.snaps > 0 && (cres.SnapshotCreate.Requests <= int64(n) || cres.SnapshotDelete.Requests <= int64(n)) {
				t.Errorf("snapshot requests %d, %d: the polls were not counted", cres.SnapshotCreate.Requests, cres.SnapshotDelete.Requests)
			}
			if tt.clones > 0 && cres.CloneCreate.Latency.P50 <= 0 {
				t.Errorf("clone latency not measured: %+v", cres.CloneCreate.Latency)
			}
			if left := api.left(t); len(left) != 0 {
				t.Errorf("%d volumes left on the API: %v", len(left), left)
			}
			want := []string{"create→available"}
			if tt.clones > 0 {
				want = append(want, "clone→available", "clone delete→gone")
			}
			if tt.snaps > 0 {
				want = append(want, "snapshot→available", "snapshot delete→gone")
			}
			want = append(want, "delete→gone")
			if got := strings.Join(hooks, ","); got != strings.Join(want, ",") {
				t.Errorf("phases %s, want %s", got, strings.Join(want, ","))
			}
			var out strings.Builder
			if err := cres.WriteTable(&out, res.Config); err != nil {
				t.Fatal(err)
			}
			for _, p := range cres.Phases() {
				if p.Name != "" && !strings.Contains(out.String(), p.Name) {
					t.Errorf("the table has no row %q:\n%s", p.Name, out.String())
				}
			}
		})
	}
}
