package api

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// placingStore is the real store with one fault injected: right after the API reads the
// volume named by stale, a scheduler and a volume service act on it (place it on host and
// give it status after), so that the API decides on a read that is already out of date.
type placingStore struct {
	Store
	t           testing.TB
	stale, host string
	after       string
	once        sync.Once
}

func (s *placingStore) GetVolume(ctx context.Context, id string) (*resource.Volume, error) {
	v, err := s.Store.GetVolume(ctx, id)
	s.placeBehind(ctx, id, err)
	return v, err
}

// GetVolumeForView is the read the API's handlers decide on (getVolume).
func (s *placingStore) GetVolumeForView(ctx context.Context, id string) (*resource.Volume, error) {
	v, err := s.Store.GetVolumeForView(ctx, id)
	s.placeBehind(ctx, id, err)
	return v, err
}

func (s *placingStore) placeBehind(ctx context.Context, id string, readErr error) {
	if readErr != nil || id != s.stale || s.after == "" {
		return
	}
	s.once.Do(func() {
		host := s.host
		if _, err := s.Store.TransitionVolume(ctx, id, []string{resource.StatusCreating},
			resource.VolumeChange{Status: s.after, Host: &host}); err != nil {
			s.t.Errorf("place volume %s behind the API's back: %v", id, err)
		}
	})
}

// TestDeleteAfterStaleReadOfUnplacedVolume is issue 12 item 2: a DELETE that read the volume
// while it had no host must not remove the row of a volume a scheduler placed since (its
// storage exists on the backend, and no row nor quota would account for it): the delete goes
// to the volume's service like any other, or is refused as the volume's status says.
func TestDeleteAfterStaleReadOfUnplacedVolume(t *testing.T) {
	const host = "node1@file1#file1"
	cases := []struct {
		name       string
		after      string // status the volume has when the API's statement runs
		force      bool
		wantCode   int
		wantStatus string // "" = gone
		wantOutbox int    // delete_volume messages to the host
	}{
		{name: "placed and made", after: resource.StatusAvailable, wantCode: http.StatusAccepted, wantStatus: resource.StatusDeleting, wantOutbox: 1},
		{name: "placed, failed for good", after: resource.StatusError, wantCode: http.StatusAccepted, wantStatus: resource.StatusDeleting, wantOutbox: 1},
		{name: "placed, still creating", after: resource.StatusCreating, wantCode: http.StatusBadRequest, wantStatus: resource.StatusCreating},
		{name: "placed, still creating, forced", after: resource.StatusCreating, force: true, wantCode: http.StatusAccepted, wantStatus: resource.StatusDeleting, wantOutbox: 1},
		{name: "still unplaced, forced", force: true, wantCode: http.StatusAccepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := &placingStore{t: t, host: host, after: tc.after}
			e := newEnv(t, func(o *Options) { ps.Store = o.Store; o.Store = ps })
			id := e.createVolume(`{"volume": {"size": 1}}`, "")
			ps.stale = id
			c := call{method: "DELETE", path: "/v3/" + testProject + "/volumes/" + id}
			if tc.force {
				c.path += "?force=true"
				c.version = "volume 3.23"
			}
			rec := e.do(c)
			wantStatus(t, rec, tc.wantCode)

			v, err := e.store.GetVolume(context.Background(), id)
			switch {
			case tc.wantStatus == "" && err == nil:
				t.Fatalf("volume %s is %s on %q, want it gone", id, v.Status, v.Host)
			case tc.wantStatus != "" && err != nil:
				t.Fatalf("volume %s placed on %s before the API's statement: %v (its storage on the backend is now orphaned)", id, host, err)
			case tc.wantStatus != "" && (v.Status != tc.wantStatus || v.Host != host):
				t.Fatalf("volume %s is %s on %q, want %s on %s", id, v.Status, v.Host, tc.wantStatus, host)
			}
			var n int
			if err := e.raw.QueryRow(`SELECT COUNT(*) FROM outbox WHERE method = 'delete_volume' AND server = ?`, "node1@file1").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.wantOutbox {
				t.Errorf("delete_volume messages to node1@file1 in the outbox: %d, want %d", n, tc.wantOutbox)
			}
		})
	}
}
