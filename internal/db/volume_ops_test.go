package db

import (
	"context"
	"errors"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// beginExtend places a volume of size GiB on pool a@b#p, makes it available (attached
// when attached), and begins an extend to newSize the way the API does: extending, with the
// claim grown to newSize on the volume and the pool (when growClaim).
func beginExtend(t *testing.T, s *Store, size, newSize int, attached, growClaim bool) *resource.Volume {
	t.Helper()
	ctx := context.Background()
	v := creatingVolume(t, s, size)
	mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: "a@b#p", Size: size}, true)
	attach := resource.AttachDetached
	if attached {
		attach = resource.AttachAttached
	}
	claim := size
	if growClaim {
		claim = newSize
		if _, err := s.db.ExecContext(ctx, "UPDATE pools SET allocated_gb = allocated_gb + ? WHERE name = 'a@b#p'", newSize-size); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE volumes SET status = ?, attach_status = ?, claimed_gb = ? WHERE id = ?",
		resource.StatusExtending, attach, claim, v.ID); err != nil {
		t.Fatal(err)
	}
	return v
}

func claimOf(t *testing.T, s *Store, id string) int {
	t.Helper()
	var c int
	if err := s.db.QueryRow("SELECT claimed_gb FROM volumes WHERE id = ?", id).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFinishExtend(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUpsert(t, s, poolCap("a@b#p", 100))
		tests := []struct {
			name                string
			attached, growClaim bool
			wantStatus          string
		}{
			{"detached goes back to available", false, true, resource.StatusAvailable},
			{"attached goes back to in-use", true, true, resource.StatusInUse},
			{"a claim not grown by the API is grown", false, false, resource.StatusAvailable},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				v := beginExtend(t, s, 2, 5, tc.attached, tc.growClaim)
				alloc := allocated(t, s, "a@b#p")
				if got, err := s.ExtendTarget(ctx, v.ID); err != nil || (tc.growClaim && got != 5) || (!tc.growClaim && got != 0) {
					t.Fatalf("ExtendTarget = %d, %v", got, err)
				}
				if err := s.FinishExtend(ctx, v.ID, 5); err != nil {
					t.Fatal(err)
				}
				got, err := s.GetVolume(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tc.wantStatus || got.Size != 5 {
					t.Errorf("volume is %s, %d GiB; want %s, 5 GiB", got.Status, got.Size, tc.wantStatus)
				}
				if c := claimOf(t, s, v.ID); c != 5 {
					t.Errorf("claim = %d, want 5", c)
				}
				wantAlloc := alloc
				if !tc.growClaim {
					wantAlloc += 3
				}
				if a := allocated(t, s, "a@b#p"); a != wantAlloc {
					t.Errorf("allocated = %d, want %d", a, wantAlloc)
				}
				// A redelivery finds the extend finished.
				if err := s.FinishExtend(ctx, v.ID, 5); !errors.Is(err, resource.ErrInvalidState) {
					t.Errorf("second FinishExtend: %v, want invalid state", err)
				}
				if _, err := s.ExtendTarget(ctx, v.ID); !errors.Is(err, resource.ErrInvalidState) {
					t.Errorf("ExtendTarget of a volume not extending: %v", err)
				}
			})
		}
		if err := s.FinishExtend(ctx, "missing", 5); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("FinishExtend of a missing volume: %v", err)
		}
	})
}

func TestFailExtend(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUpsert(t, s, poolCap("a@b#p", 100))
		v := beginExtend(t, s, 2, 5, false, true)
		if a := allocated(t, s, "a@b#p"); a != 5 {
			t.Fatalf("allocated after begin = %d, want 5", a)
		}
		msg := &resource.Message{ProjectID: v.ProjectID, ResourceType: resource.MessageResourceVolume, ResourceUUID: v.ID,
			ActionID: resource.ActionExtendVolume, DetailID: resource.DetailDriverFailedExtend}
		if err := s.FailExtend(ctx, v.ID, 5, msg); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != resource.StatusErrorExtending || got.Size != 2 {
			t.Errorf("volume is %s, %d GiB; want error_extending, 2 GiB", got.Status, got.Size)
		}
		if c := claimOf(t, s, v.ID); c != 2 {
			t.Errorf("claim = %d, want 2 (the extend's part given back)", c)
		}
		if a := allocated(t, s, "a@b#p"); a != 2 {
			t.Errorf("allocated = %d, want 2", a)
		}
		msgs, err := s.ListMessages(ctx, resource.MessageFilter{ProjectID: v.ProjectID})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].ResourceUUID != v.ID || msgs[0].EventID != "VOLUME_VOLUME_007_010" {
			t.Errorf("messages = %+v, want one VOLUME_VOLUME_007_010 of the volume", msgs)
		}
		// A redelivery changes nothing and writes no second message.
		if err := s.FailExtend(ctx, v.ID, 5, msg); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("second FailExtend: %v, want invalid state", err)
		}
		if n := countRows(t, s, "messages"); n != 1 {
			t.Errorf("%d messages after a redelivered failure, want 1", n)
		}
		if a := allocated(t, s, "a@b#p"); a != 2 {
			t.Errorf("allocated after a redelivered failure = %d, want 2", a)
		}
		if err := s.FailExtend(ctx, "missing", 5, nil); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("FailExtend of a missing volume: %v", err)
		}
	})
}

func TestEndRevert(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		setup := func(t *testing.T) (*resource.Volume, *resource.Snapshot) {
			v := volume("p")
			mustCreate(t, s, v)
			sn := &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: v.ID}
			if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotCreating}, resource.SnapshotRestoring, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusReverting}); err != nil {
				t.Fatal(err)
			}
			return v, sn
		}
		tests := []struct {
			name                 string
			end                  func(v, sn string) error
			wantVolume, wantSnap string
			wantMessages         int
		}{
			{"finish", func(v, sn string) error { return s.FinishRevert(ctx, v, sn) },
				resource.StatusAvailable, resource.SnapshotAvailable, 0},
			{"fail", func(v, sn string) error {
				return s.FailRevert(ctx, v, sn, &resource.Message{ProjectID: "p", ResourceType: resource.MessageResourceVolume,
					ResourceUUID: v, ActionID: resource.ActionUnknown, DetailID: resource.DetailUnknownError})
			}, resource.StatusError, resource.SnapshotAvailable, 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := countRows(t, s, "messages")
				v, sn := setup(t)
				if err := tc.end(v.ID, sn.ID); err != nil {
					t.Fatal(err)
				}
				gv, _ := s.GetVolume(ctx, v.ID)
				gs, _ := s.GetSnapshot(ctx, sn.ID)
				if gv.Status != tc.wantVolume || gs.Status != tc.wantSnap {
					t.Errorf("volume %s, snapshot %s; want %s, %s", gv.Status, gs.Status, tc.wantVolume, tc.wantSnap)
				}
				if n := countRows(t, s, "messages") - before; n != tc.wantMessages {
					t.Errorf("%d messages written, want %d", n, tc.wantMessages)
				}
				// A redelivery finds the volume no longer reverting and changes nothing.
				if err := tc.end(v.ID, sn.ID); !errors.Is(err, resource.ErrInvalidState) {
					t.Errorf("second end: %v, want invalid state", err)
				}
				if n := countRows(t, s, "messages") - before; n != tc.wantMessages {
					t.Errorf("%d messages after a redelivery, want %d", n, tc.wantMessages)
				}
			})
		}
		t.Run("volume not reverting changes no snapshot", func(t *testing.T) {
			v, sn := setup(t)
			if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusReverting}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishRevert(ctx, v.ID, sn.ID); !errors.Is(err, resource.ErrInvalidState) {
				t.Fatalf("FinishRevert: %v", err)
			}
			if gs, _ := s.GetSnapshot(ctx, sn.ID); gs.Status != resource.SnapshotRestoring {
				t.Errorf("snapshot = %s, want restoring (the transaction rolled back)", gs.Status)
			}
		})
	})
}
