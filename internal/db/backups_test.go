package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// backupFixture is a volume, made through the store, and the backups taken of it.
type backupFixture struct {
	t   *testing.T
	s   *Store
	vol *resource.Volume
}

func newBackupFixture(t *testing.T, s *Store, project string, change ...func(*resource.Volume)) *backupFixture {
	t.Helper()
	v := volume(project, append([]func(*resource.Volume){func(v *resource.Volume) { v.Host = "h@b#p"; v.Size = 2 }}, change...)...)
	mustCreate(t, s, v)
	return &backupFixture{t: t, s: s, vol: v}
}

// backup takes a backup of the fixture's volume and finishes it (available), unless status
// says otherwise (creating leaves it being taken; error fails it).
func (f *backupFixture) backup(name, status string, incremental bool, md map[string]string) *resource.Backup {
	f.t.Helper()
	ctx := context.Background()
	b := &resource.Backup{ProjectID: f.vol.ProjectID, UserID: f.vol.UserID, VolumeID: f.vol.ID, Name: name, Metadata: md, Container: "c"}
	if _, err := f.s.CreateBackup(ctx, b, resource.BackupCreate{Incremental: incremental}); err != nil {
		f.t.Fatal(err)
	}
	host, svc := "bk1", "cinder.backup.drivers.posix.PosixBackupDriver"
	if status != resource.BackupCreating {
		// The backup service records itself when it starts.
		if _, err := f.s.TransitionBackup(ctx, b.ID, []string{resource.BackupCreating},
			resource.BackupChange{Status: resource.BackupCreating, Host: &host, Service: &svc}); err != nil {
			f.t.Fatal(err)
		}
	}
	switch status {
	case resource.BackupCreating:
	case resource.BackupError:
		if err := f.s.FailBackup(ctx, b.ID, "broken", nil); err != nil {
			f.t.Fatal(err)
		}
	default:
		if err := f.s.FinishBackup(ctx, b.ID, resource.BackupChange{}); err != nil {
			f.t.Fatal(err)
		}
		if status != resource.BackupAvailable {
			if err := f.s.ResetBackupStatus(ctx, b.ID, status); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	time.Sleep(2 * time.Millisecond) // distinct created_at and data_timestamp
	return mustGetBackup(f.t, f.s, b.ID)
}

func mustGetBackup(t testing.TB, s *Store, id string) *resource.Backup {
	t.Helper()
	b, err := s.GetBackup(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// volumeStatuses returns a volume's status and previous_status.
func volumeStatuses(t testing.TB, s *Store, id string) (string, string) {
	t.Helper()
	var status string
	var prev sql.NullString
	if err := s.db.QueryRow("SELECT status, previous_status FROM volumes WHERE id = ?", id).Scan(&status, &prev); err != nil {
		t.Fatal(err)
	}
	return status, prev.String
}

// checkBackupUsage checks that a project's backup quota usage is what its backup rows add up
// to, and that every backup's num_dependent_backups is the number of its live children.
func checkBackupUsage(t testing.TB, s *Store, project string) {
	t.Helper()
	var n, gb int64
	if err := s.db.QueryRow("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM backups WHERE project_id = ? AND deleted = 0", project).Scan(&n, &gb); err != nil {
		t.Fatal(err)
	}
	if got := inUse(t, s, project, resource.QuotaBackups); got != n {
		t.Errorf("backups in use = %d, rows = %d", got, n)
	}
	if got := inUse(t, s, project, resource.QuotaBackupGigabytes); got != gb {
		t.Errorf("backup_gigabytes in use = %d, rows add up to %d", got, gb)
	}
	rows, err := s.db.Query(`SELECT b.id, b.num_dependent_backups, (SELECT COUNT(*) FROM backups c WHERE c.parent_id = b.id AND c.deleted = 0)
		FROM backups b WHERE b.deleted = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var counted, children int
		if err := rows.Scan(&id, &counted, &children); err != nil {
			t.Fatal(err)
		}
		if counted != children {
			t.Errorf("backup %s: num_dependent_backups = %d, live children = %d", id, counted, children)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func outboxCount(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func backupCast(id string) resource.OutboxMessage {
	return resource.OutboxMessage{Topic: "scoria-backup", Method: "create_backup", Args: []byte(`{"backup_id":"` + id + `"}`)}
}

func TestBackupCreateAndEnd(t *testing.T) {
	tests := []struct {
		name       string
		volStatus  string
		force      bool
		snapshot   bool
		fail       bool
		wantBack   string // the volume's status after the end
		wantPrev   string // its previous_status after the end
		wantBackup string
	}{
		{name: "available", volStatus: resource.StatusAvailable, wantBack: resource.StatusAvailable, wantPrev: resource.StatusBackingUp, wantBackup: resource.BackupAvailable},
		{name: "in-use with force", volStatus: resource.StatusInUse, force: true, wantBack: resource.StatusInUse, wantPrev: resource.StatusBackingUp, wantBackup: resource.BackupAvailable},
		{name: "failed", volStatus: resource.StatusAvailable, fail: true, wantBack: resource.StatusAvailable, wantPrev: resource.PreviousStatusErrorBackingUp, wantBackup: resource.BackupError},
		{name: "in-use failed", volStatus: resource.StatusInUse, force: true, fail: true, wantBack: resource.StatusInUse, wantPrev: resource.PreviousStatusErrorBackingUp, wantBackup: resource.BackupError},
		{name: "snapshot", volStatus: resource.StatusInUse, snapshot: true, wantBack: resource.StatusInUse, wantBackup: resource.BackupAvailable},
		{name: "snapshot failed", volStatus: resource.StatusAvailable, snapshot: true, fail: true, wantBack: resource.StatusAvailable, wantBackup: resource.BackupError},
	}
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				project := "p-" + tt.name
				f := newBackupFixture(t, s, project)
				var snap *resource.Snapshot
				if tt.snapshot {
					snap = &resource.Snapshot{ProjectID: project, UserID: "u", VolumeID: f.vol.ID}
					if _, err := s.CreateSnapshot(ctx, snap, []string{resource.StatusAvailable}); err != nil {
						t.Fatal(err)
					}
					if err := s.FinishSnapshotCreate(ctx, snap.ID, resource.ProviderData{}); err != nil {
						t.Fatal(err)
					}
					snap = getSnap(t, s, snap.ID)
				}
				if err := s.ResetVolumeState(ctx, f.vol.ID, resource.VolumeReset{Status: tt.volStatus}); err != nil {
					t.Fatal(err)
				}
				b := &resource.Backup{ProjectID: project, UserID: "u", VolumeID: f.vol.ID, Name: "bk", Description: "d",
					Container: "c", AvailabilityZone: "nova", Metadata: map[string]string{"k": "v"}}
				if snap != nil {
					b.SnapshotID = snap.ID
				}
				before := outboxCount(t, s)
				msgs, err := s.CreateBackup(ctx, b, resource.BackupCreate{Force: tt.force}, backupCast("x"))
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 || msgs[0].ID == 0 || outboxCount(t, s) != before+1 {
					t.Errorf("outbox: got %+v, %d rows (before %d)", msgs, outboxCount(t, s), before)
				}
				got := mustGetBackup(t, s, b.ID)
				if got.Status != resource.BackupCreating || got.Size != 2 || got.Name != "bk" || got.Description != "d" ||
					got.Container != "c" || got.Metadata["k"] != "v" || got.UserID != "u" || got.DataTimestamp == nil {
					t.Errorf("created backup = %+v", got)
				}
				if snap != nil {
					if !got.DataTimestamp.Equal(snap.CreatedAt) {
						t.Errorf("data_timestamp = %v, want the snapshot's created_at %v", got.DataTimestamp, snap.CreatedAt)
					}
					if st := getSnap(t, s, snap.ID).Status; st != resource.SnapshotBackingUp {
						t.Errorf("snapshot status = %s, want backing-up", st)
					}
					if st, _ := volumeStatuses(t, s, f.vol.ID); st != tt.volStatus {
						t.Errorf("volume of a snapshot backup = %s, want it untouched (%s)", st, tt.volStatus)
					}
				} else {
					if !got.DataTimestamp.Equal(got.CreatedAt) {
						t.Errorf("data_timestamp = %v, want created_at %v", got.DataTimestamp, got.CreatedAt)
					}
					if st, prev := volumeStatuses(t, s, f.vol.ID); st != resource.StatusBackingUp || prev != tt.volStatus {
						t.Errorf("volume = %s (previous %s), want backing-up (previous %s)", st, prev, tt.volStatus)
					}
				}
				checkBackupUsage(t, s, project)
				if inUse(t, s, project, resource.QuotaBackupGigabytes) != 2 {
					t.Errorf("backup_gigabytes not charged")
				}

				if tt.fail {
					long := string(make([]byte, 300))
					if err := s.FailBackup(ctx, b.ID, "bad"+long, &resource.Message{ProjectID: project, ResourceType: resource.MessageResourceBackup,
						ResourceUUID: b.ID, ActionID: resource.ActionBackupCreate, DetailID: resource.DetailUnknownError}); err != nil {
						t.Fatal(err)
					}
				} else {
					host, svc, smeta, size, objects := "bk1", "posix", "meta", 2, 7
					if err := s.FinishBackup(ctx, b.ID, resource.BackupChange{Host: &host, Service: &svc, ServiceMetadata: &smeta,
						Size: &size, ObjectCount: &objects}); err != nil {
						t.Fatal(err)
					}
				}
				got = mustGetBackup(t, s, b.ID)
				if got.Status != tt.wantBackup {
					t.Errorf("backup status = %s, want %s", got.Status, tt.wantBackup)
				}
				if tt.fail && len(got.FailReason) != maxFailReason {
					t.Errorf("fail_reason of %d bytes, want it cut to %d", len(got.FailReason), maxFailReason)
				}
				if !tt.fail && (got.Host != "bk1" || got.Service != "posix" || got.ServiceMetadata != "meta" || got.ObjectCount != 7) {
					t.Errorf("finished backup = %+v", got)
				}
				if st, prev := volumeStatuses(t, s, f.vol.ID); st != tt.wantBack || prev != tt.wantPrev {
					t.Errorf("volume after = %s (previous %q), want %s (previous %q)", st, prev, tt.wantBack, tt.wantPrev)
				}
				if snap != nil {
					if st := getSnap(t, s, snap.ID).Status; st != resource.SnapshotAvailable {
						t.Errorf("snapshot after = %s, want available", st)
					}
				}
				// A second end (a redelivery) changes nothing and says why.
				if err := s.FinishBackup(ctx, b.ID, resource.BackupChange{}); !errors.Is(err, resource.ErrInvalidState) {
					t.Errorf("second finish: %v, want invalid state", err)
				}
				if got2 := mustGetBackup(t, s, b.ID); got2.Status != tt.wantBackup {
					t.Errorf("after a second finish: %s", got2.Status)
				}
			})
		}
	})
}

func TestBackupCreateRefusedWritesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const p = "p1"
		f := newBackupFixture(t, s, p)
		full := f.backup("full", resource.BackupAvailable, false, nil)
		other := newBackupFixture(t, s, p)
		otherSnap := &resource.Snapshot{ProjectID: p, UserID: "u", VolumeID: other.vol.ID}
		if _, err := s.CreateSnapshot(ctx, otherSnap, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		creatingSnap := &resource.Snapshot{ProjectID: p, UserID: "u", VolumeID: f.vol.ID}
		if _, err := s.CreateSnapshot(ctx, creatingSnap, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		empty := newBackupFixture(t, s, p)
		errored := newBackupFixture(t, s, p, func(v *resource.Volume) { v.Status = resource.StatusError })
		inUse := newBackupFixture(t, s, p, func(v *resource.Volume) { v.Status = resource.StatusInUse })

		tests := []struct {
			name    string
			b       resource.Backup
			opts    resource.BackupCreate
			setup   func(t *testing.T)
			want    string // the refusal's reason; "" for a not-found, quota or conflict error
			wantErr error
		}{
			{name: "missing volume", b: resource.Backup{VolumeID: "nope"}, wantErr: resource.ErrNotFound},
			{name: "volume in error", b: resource.Backup{VolumeID: errored.vol.ID},
				want: `Volume to be backed up must be available or in-use, but the current status is "error".`},
			{name: "in-use without force", b: resource.Backup{VolumeID: inUse.vol.ID},
				want: "Backing up an in-use volume must use the force flag."},
			{name: "snapshot of another volume", b: resource.Backup{VolumeID: f.vol.ID, SnapshotID: otherSnap.ID},
				want: fmt.Sprintf("Volume %s does not match with snapshot.volume_id %s.", f.vol.ID, other.vol.ID)},
			{name: "snapshot not available", b: resource.Backup{VolumeID: f.vol.ID, SnapshotID: creatingSnap.ID},
				want: `Snapshot to be backed up must be available, but the current status is "creating".`},
			{name: "missing snapshot", b: resource.Backup{VolumeID: f.vol.ID, SnapshotID: "nope"}, wantErr: resource.ErrNotFound},
			{name: "incremental without a backup", b: resource.Backup{VolumeID: empty.vol.ID}, opts: resource.BackupCreate{Incremental: true},
				want: "No backups available to do an incremental backup."},
			{name: "incremental of a parent not available", b: resource.Backup{VolumeID: f.vol.ID}, opts: resource.BackupCreate{Incremental: true},
				setup: func(t *testing.T) {
					if err := s.ResetBackupStatus(ctx, full.ID, resource.BackupError); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.ResetBackupStatus(ctx, full.ID, resource.BackupAvailable) })
				},
				want: "No backups available to do an incremental backup."},
			{name: "id in use (incremental)", b: resource.Backup{ID: full.ID, VolumeID: f.vol.ID}, opts: resource.BackupCreate{Incremental: true},
				wantErr: resource.ErrConflict},
			{name: "over the backups quota", b: resource.Backup{VolumeID: f.vol.ID}, opts: resource.BackupCreate{Incremental: true},
				setup: func(t *testing.T) { setQuota(t, s, p, resource.QuotaBackups, 1) }},
			{name: "over the backup_gigabytes quota", b: resource.Backup{VolumeID: f.vol.ID},
				setup: func(t *testing.T) { setQuota(t, s, p, resource.QuotaBackupGigabytes, 3) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.setup != nil {
					tt.setup(t)
				}
				t.Cleanup(func() {
					if _, err := s.UpdateProjectQuotas(ctx, p, map[string]int64{resource.QuotaBackups: 10, resource.QuotaBackupGigabytes: 1000}); err != nil {
						t.Fatal(err)
					}
				})
				vols := map[string][2]string{}
				for _, v := range []*resource.Volume{f.vol, other.vol, empty.vol, errored.vol, inUse.vol} {
					st, prev := volumeStatuses(t, s, v.ID)
					vols[v.ID] = [2]string{st, prev}
				}
				n, _ := s.CountBackups(ctx, resource.BackupFilter{})
				outbox := outboxCount(t, s)
				parentDeps := mustGetBackup(t, s, full.ID).NumDependentBackups

				b := tt.b
				b.ProjectID, b.UserID = p, "u"
				_, err := s.CreateBackup(ctx, &b, tt.opts, backupCast("x"))
				var refused *resource.BackupRefusedError
				var over *resource.OverQuotaError
				switch {
				case err == nil:
					t.Fatal("created, want a refusal")
				case tt.want != "":
					if !errors.As(err, &refused) || refused.Reason != tt.want || !errors.Is(err, resource.ErrInvalidState) {
						t.Fatalf("err = %v, want %q", err, tt.want)
					}
				case tt.wantErr != nil:
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
				default:
					if !errors.As(err, &over) {
						t.Fatalf("err = %v, want over quota", err)
					}
				}

				if n2, _ := s.CountBackups(ctx, resource.BackupFilter{}); n2 != n {
					t.Errorf("backups %d → %d", n, n2)
				}
				if o := outboxCount(t, s); o != outbox {
					t.Errorf("outbox %d → %d", outbox, o)
				}
				if d := mustGetBackup(t, s, full.ID).NumDependentBackups; d != parentDeps {
					t.Errorf("parent's dependents %d → %d", parentDeps, d)
				}
				for id, want := range vols {
					if st, prev := volumeStatuses(t, s, id); [2]string{st, prev} != want {
						t.Errorf("volume %s: %s/%s, was %v", id, st, prev, want)
					}
				}
				if st := getSnap(t, s, otherSnap.ID).Status; st != resource.SnapshotCreating {
					t.Errorf("snapshot %s", st)
				}
				checkBackupUsage(t, s, p)
			})
		}
	})
}

func setQuota(t testing.TB, s *Store, project, res string, limit int64) {
	t.Helper()
	if _, err := s.UpdateProjectQuotas(context.Background(), project, map[string]int64{res: limit}); err != nil {
		t.Fatal(err)
	}
}

func TestBackupIncrementalChainAndDelete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const p = "p1"
		f := newBackupFixture(t, s, p)
		a := f.backup("a", resource.BackupAvailable, false, nil)
		b := f.backup("b", resource.BackupAvailable, true, nil)
		if b.ParentID != a.ID || !b.IsIncremental() {
			t.Fatalf("b's parent = %q, want %s", b.ParentID, a.ID)
		}
		// posix: the incremental runs where its parent's files are.
		if b.Host != "bk1" {
			t.Errorf("b's host = %q, want its posix parent's", b.Host)
		}
		c := f.backup("c", resource.BackupAvailable, true, nil) // the latest data: b
		if c.ParentID != b.ID {
			t.Fatalf("c's parent = %q, want %s (latest data_timestamp)", c.ParentID, b.ID)
		}
		// An errored backup is never a parent; it still counts among its parent's dependents.
		d := f.backup("d", resource.BackupError, true, nil)
		if d.ParentID != c.ID {
			t.Fatalf("d's parent = %q, want %s", d.ParentID, c.ID)
		}
		e := f.backup("e", resource.BackupAvailable, true, nil)
		if e.ParentID != c.ID {
			t.Fatalf("e's parent = %q, want %s (d is in error)", e.ParentID, c.ID)
		}
		checkBackupUsage(t, s, p)
		for id, want := range map[string]int{a.ID: 1, b.ID: 1, c.ID: 2, d.ID: 0, e.ID: 0} {
			if got := mustGetBackup(t, s, id).NumDependentBackups; got != want {
				t.Errorf("backup %s: %d dependents, want %d", id, got, want)
			}
		}

		del := func(id string, from ...string) error {
			if from == nil {
				from = resource.BackupDeletableStatuses
			}
			_, err := s.StartBackupDelete(ctx, resource.BackupDelete{BackupID: id, From: from, Host: "bk2"}, backupCast(id))
			return err
		}
		var refused *resource.BackupRefusedError
		for _, id := range []string{a.ID, c.ID} {
			if err := del(id); !errors.As(err, &refused) || refused.Reason != "Incremental backups exist for this backup." {
				t.Errorf("delete of %s with dependents: %v", id, err)
			}
			// Even forced, and even a destroy.
			if err := del(id, resource.BackupStatuses...); !errors.As(err, &refused) {
				t.Errorf("forced delete of %s with dependents: %v", id, err)
			}
			if err := s.DestroyBackup(ctx, id, resource.BackupStatuses); !errors.As(err, &refused) {
				t.Errorf("destroy of %s with dependents: %v", id, err)
			}
		}
		if err := s.ResetBackupStatus(ctx, e.ID, resource.BackupCreating); err != nil {
			t.Fatal(err)
		}
		if err := del(e.ID); !errors.As(err, &refused) || refused.Reason != "Backup status must be available or error" {
			t.Errorf("delete of a creating backup: %v", err)
		}
		if err := s.ResetBackupStatus(ctx, e.ID, resource.BackupAvailable); err != nil {
			t.Fatal(err)
		}
		// Delete from the newest: each delete frees its parent.
		for _, bk := range []*resource.Backup{e, d, c, b, a} {
			if err := del(bk.ID); err != nil {
				t.Fatalf("delete %s: %v", bk.Name, err)
			}
			got := mustGetBackup(t, s, bk.ID)
			if got.Status != resource.BackupDeleting || got.Host != "bk2" {
				t.Errorf("%s after delete: %s on %s", bk.Name, got.Status, got.Host)
			}
			if err := s.DestroyBackup(ctx, bk.ID, []string{resource.BackupDeleting}); err != nil {
				t.Fatalf("destroy %s: %v", bk.Name, err)
			}
			if _, err := s.GetBackup(ctx, bk.ID); !errors.Is(err, resource.ErrNotFound) {
				t.Errorf("get of destroyed %s: %v", bk.Name, err)
			}
			if err := s.DestroyBackup(ctx, bk.ID, []string{resource.BackupDeleting}); !errors.Is(err, resource.ErrNotFound) {
				t.Errorf("second destroy of %s: %v, want not found (quota given back once)", bk.Name, err)
			}
			checkBackupUsage(t, s, p)
		}
		if inUse(t, s, p, resource.QuotaBackups) != 0 || inUse(t, s, p, resource.QuotaBackupGigabytes) != 0 {
			t.Error("quota not all given back")
		}
	})
}

func TestBackupRestore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const p = "p1"
		f := newBackupFixture(t, s, p)
		bk := f.backup("a", resource.BackupAvailable, false, nil)
		bigger := newBackupFixture(t, s, p, func(v *resource.Volume) { v.Size = 3 })
		small := newBackupFixture(t, s, p, func(v *resource.Volume) { v.Size = 1 })
		busy := newBackupFixture(t, s, p, func(v *resource.Volume) { v.Status = resource.StatusInUse })
		creating := f.backup("creating", resource.BackupCreating, false, nil) // f's volume is backing-up now
		other := newBackupFixture(t, s, p)

		var refused *resource.BackupRefusedError
		for _, tt := range []struct {
			name     string
			r        resource.BackupRestore
			want     string
			notFound bool
		}{
			{name: "too small", r: resource.BackupRestore{BackupID: bk.ID, VolumeID: small.vol.ID}, want: "volume size 1 is too small to restore backup of size 2."},
			{name: "volume in-use", r: resource.BackupRestore{BackupID: bk.ID, VolumeID: busy.vol.ID}, want: "Volume to be restored to must be available"},
			{name: "backup creating", r: resource.BackupRestore{BackupID: creating.ID, VolumeID: other.vol.ID}, want: "Backup status must be available"},
			{name: "missing volume", r: resource.BackupRestore{BackupID: bk.ID, VolumeID: "nope"}, notFound: true},
			{name: "missing backup", r: resource.BackupRestore{BackupID: "nope", VolumeID: other.vol.ID}, notFound: true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.StartRestore(ctx, tt.r, backupCast("x"))
				if tt.notFound {
					if !errors.Is(err, resource.ErrNotFound) {
						t.Fatalf("err = %v, want not found", err)
					}
				} else if !errors.As(err, &refused) || refused.Reason != tt.want {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				if got := mustGetBackup(t, s, bk.ID); got.Status != resource.BackupAvailable || got.RestoreVolumeID != "" {
					t.Errorf("backup after a refused restore: %+v", got)
				}
			})
		}
		if err := s.FailBackup(ctx, creating.ID, "gone", nil); err != nil {
			t.Fatal(err)
		}

		// Success onto a bigger volume of another source: src_backup_id written.
		if _, err := s.StartRestore(ctx, resource.BackupRestore{BackupID: bk.ID, VolumeID: bigger.vol.ID, Host: "bk3"}, backupCast("x")); err != nil {
			t.Fatal(err)
		}
		got := mustGetBackup(t, s, bk.ID)
		if got.Status != resource.BackupRestoring || got.RestoreVolumeID != bigger.vol.ID || got.Host != "bk3" {
			t.Errorf("restoring backup = %+v", got)
		}
		if st, _ := volumeStatuses(t, s, bigger.vol.ID); st != resource.StatusRestoringBackup {
			t.Errorf("restore volume = %s", st)
		}
		// The backup cannot be deleted nor restored again meanwhile.
		if _, err := s.StartBackupDelete(ctx, resource.BackupDelete{BackupID: bk.ID, From: resource.BackupDeletableStatuses}); !errors.As(err, &refused) {
			t.Errorf("delete while restoring: %v", err)
		}
		if err := s.FinishRestore(ctx, bk.ID); err != nil {
			t.Fatal(err)
		}
		if st, _ := volumeStatuses(t, s, bigger.vol.ID); st != resource.StatusAvailable {
			t.Errorf("restored volume = %s", st)
		}
		md, err := s.VolumeMetadata(ctx, resource.UserMetadata, bigger.vol.ID)
		if err != nil || md[resource.BackupMetadataKeySource] != bk.ID {
			t.Errorf("restored volume's metadata = %v, %v; want src_backup_id", md, err)
		}
		if err := s.FinishRestore(ctx, bk.ID); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("second finish: %v", err)
		}

		// Onto its own volume: no src_backup_id; a failure leaves error_restoring.
		if _, err := s.StartRestore(ctx, resource.BackupRestore{BackupID: bk.ID, VolumeID: f.vol.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.FailRestore(ctx, bk.ID, nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusErrorRestoring {
			t.Errorf("volume after a failed restore = %s", st)
		}
		if got := mustGetBackup(t, s, bk.ID); got.Status != resource.BackupAvailable {
			t.Errorf("backup after a failed restore = %s", got.Status)
		}
		if err := s.ResetVolumeState(ctx, f.vol.ID, resource.VolumeReset{Status: resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartRestore(ctx, resource.BackupRestore{BackupID: bk.ID, VolumeID: f.vol.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRestore(ctx, bk.ID); err != nil {
			t.Fatal(err)
		}
		md, _ = s.VolumeMetadata(ctx, resource.UserMetadata, f.vol.ID)
		if _, ok := md[resource.BackupMetadataKeySource]; ok {
			t.Errorf("own volume restored: metadata %v, want no src_backup_id", md)
		}
	})
}

func TestBackupListUpdateAndHost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newBackupFixture(t, s, "p1")
		g := newBackupFixture(t, s, "p1")
		o := newBackupFixture(t, s, "p2")
		a := f.backup("alpha", resource.BackupAvailable, false, map[string]string{"k": "v", "x": "1"})
		b := f.backup("beta", resource.BackupError, false, map[string]string{"k": "v"})
		c := g.backup("", resource.BackupAvailable, false, nil)
		d := o.backup("alpha", resource.BackupAvailable, false, nil)

		ids := func(bs []*resource.Backup) []string {
			out := []string{}
			for _, b := range bs {
				out = append(out, b.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    resource.BackupFilter
			want []string
		}{
			{"project, newest first", resource.BackupFilter{ProjectID: "p1"}, []string{c.ID, b.ID, a.ID}},
			{"all tenants", resource.BackupFilter{}, []string{d.ID, c.ID, b.ID, a.ID}},
			{"name", resource.BackupFilter{ProjectID: "p1", Name: "alpha"}, []string{a.ID}},
			{"status", resource.BackupFilter{Status: resource.BackupError}, []string{b.ID}},
			{"volume", resource.BackupFilter{VolumeID: g.vol.ID}, []string{c.ID}},
			{"metadata", resource.BackupFilter{Metadata: map[string]string{"k": "v"}}, []string{b.ID, a.ID}},
			{"metadata, two items", resource.BackupFilter{Metadata: map[string]string{"k": "v", "x": "1"}}, []string{a.ID}},
			{"like", resource.BackupFilter{Like: map[string]string{"display_name": "LPH"}}, []string{d.ID, a.ID}},
			{"equal", resource.BackupFilter{Equal: map[string]string{"size": "2", "project_id": "p2"}}, []string{d.ID}},
			{"sort by name", resource.BackupFilter{ProjectID: "p1", Sort: []resource.SortKey{{Field: "display_name"}}}, []string{c.ID, a.ID, b.ID}},
			{"sort desc, limit", resource.BackupFilter{ProjectID: "p1", Sort: []resource.SortKey{{Field: "display_name", Desc: true}}, Limit: 2}, []string{b.ID, a.ID}},
			{"marker", resource.BackupFilter{ProjectID: "p1", Sort: []resource.SortKey{{Field: "display_name"}}, Marker: c.ID}, []string{a.ID, b.ID}},
			{"marker, offset", resource.BackupFilter{ProjectID: "p1", Marker: c.ID, Offset: 1}, []string{a.ID}},
			{"offset without limit", resource.BackupFilter{Offset: 3}, []string{a.ID}},
			{"sort by data_timestamp, marker", resource.BackupFilter{ProjectID: "p1", Sort: []resource.SortKey{{Field: "data_timestamp"}}, Marker: a.ID}, []string{b.ID, c.ID}},
			{"sort by status then name", resource.BackupFilter{Sort: []resource.SortKey{{Field: "status", Desc: true}, {Field: "display_name"}}}, []string{b.ID, c.ID, d.ID, a.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListBackups(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), tt.want) {
					t.Errorf("got %v, want %v", ids(got), tt.want)
				}
				n, err := s.CountBackups(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				cf := tt.f
				cf.Limit, cf.Offset, cf.Marker = 0, 0, ""
				all, _ := s.ListBackups(ctx, cf)
				if n != len(all) {
					t.Errorf("count = %d, want %d", n, len(all))
				}
			})
		}
		for _, bad := range []resource.BackupFilter{
			{Sort: []resource.SortKey{{Field: "nope"}}},
			{Equal: map[string]string{"nope": "x"}},
			{Like: map[string]string{"size": "1"}},
		} {
			if _, err := s.ListBackups(ctx, bad); !errors.Is(err, resource.ErrInvalidState) {
				t.Errorf("list %+v: %v, want invalid", bad, err)
			}
		}
		if _, err := s.ListBackups(ctx, resource.BackupFilter{ProjectID: "p2", Marker: a.ID}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("marker of another project: %v", err)
		}
		if got := mustGetBackup(t, s, a.ID); got.Metadata["x"] != "1" || len(got.Metadata) != 2 {
			t.Errorf("metadata = %v", got.Metadata)
		}

		name, desc := "renamed", ""
		u, err := s.UpdateBackup(ctx, a.ID, resource.BackupUpdate{Name: &name, Description: &desc, Metadata: map[string]string{"n": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "renamed" || u.Description != "" || len(u.Metadata) != 1 || u.Metadata["n"] != "1" || u.UpdatedAt == nil {
			t.Errorf("updated = %+v", u)
		}
		if _, err := s.UpdateBackup(ctx, "nope", resource.BackupUpdate{Name: &name}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("update of a missing backup: %v", err)
		}
		if err := s.ResetBackupStatus(ctx, a.ID, "bogus"); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("reset to bogus: %v", err)
		}
		if err := s.ResetBackupStatus(ctx, "nope", resource.BackupError); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("reset of a missing backup: %v", err)
		}

		// A service's recovery: its incomplete backups.
		e := g.backup("e", resource.BackupCreating, false, nil)
		host, key, tmp := "bk1", "key-1", "tmp-vol"
		if _, err := s.TransitionBackup(ctx, e.ID, []string{resource.BackupCreating}, resource.BackupChange{Status: resource.BackupCreating,
			Host: &host, EncryptionKeyID: &key, TempVolumeID: &tmp}); err != nil {
			t.Fatal(err)
		}
		if got := mustGetBackup(t, s, e.ID); got.Host != host || got.EncryptionKeyID != key || got.TempVolumeID != tmp || got.Status != resource.BackupCreating {
			t.Errorf("after transition: %+v", got)
		}
		incomplete := slices.DeleteFunc(slices.Clone(resource.BackupStatuses), func(st string) bool { return st == resource.BackupAvailable })
		got, err := s.ListBackupsByHost(ctx, "bk1", incomplete)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), []string{b.ID, e.ID}) {
			t.Errorf("incomplete on bk1 = %v, want %v", ids(got), []string{b.ID, e.ID})
		}
		if all, _ := s.ListBackupsByHost(ctx, "bk1", nil); len(all) != 5 {
			t.Errorf("all on bk1: %d, want 5", len(all))
		}
		if _, err := s.TransitionBackup(ctx, e.ID, []string{resource.BackupAvailable}, resource.BackupChange{Status: resource.BackupDeleting}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("transition from the wrong status: %v", err)
		}
		// The recovery of a killed backup: error, volume back.
		if err := s.FailBackup(ctx, e.ID, "incomplete backup reset on manager restart", nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := volumeStatuses(t, s, g.vol.ID); st != resource.StatusAvailable {
			t.Errorf("volume after recovery = %s", st)
		}
	})
}

// Two backups of one volume being created (one of a snapshot, one of the volume): ending one
// gives back only its own source.
func TestBackupEndGivesBackOwnSourceOnly(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newBackupFixture(t, s, "p1")
		first := f.backup("first", resource.BackupCreating, false, nil)
		// An admin resets the first backup: its volume stays backing-up until a backup ends.
		if err := s.ResetBackupStatus(ctx, first.ID, resource.BackupError); err != nil {
			t.Fatal(err)
		}
		if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusBackingUp {
			t.Fatalf("volume = %s", st)
		}
		// The first backup's late finish: refused for the backup, the volume given back.
		if err := s.FinishBackup(ctx, first.ID, resource.BackupChange{}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("late finish: %v", err)
		}
		if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusAvailable {
			t.Errorf("volume after a late finish = %s, want available", st)
		}
		// A second backup now holds the volume: a stale end of the first leaves it alone.
		second := f.backup("second", resource.BackupCreating, false, nil)
		if err := s.FailBackup(ctx, first.ID, "stale", nil); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("stale fail: %v", err)
		}
		if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusBackingUp {
			t.Errorf("volume while the second backup runs = %s, want backing-up", st)
		}
		if err := s.FinishBackup(ctx, second.ID, resource.BackupChange{}); err != nil {
			t.Fatal(err)
		}
		if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusAvailable {
			t.Errorf("volume = %s", st)
		}
		// A previous status no backup starts from (left by an admin's resets) is not restored.
		third := f.backup("third", resource.BackupCreating, false, nil)
		if _, err := s.db.Exec("UPDATE volumes SET previous_status = ? WHERE id = ?", resource.PreviousStatusErrorBackingUp, f.vol.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBackup(ctx, third.ID, resource.BackupChange{}); err != nil {
			t.Fatal(err)
		}
		if st, prev := volumeStatuses(t, s, f.vol.ID); st != resource.StatusAvailable || prev != resource.StatusBackingUp {
			t.Errorf("volume = %s (previous %s), want available (previous backing-up)", st, prev)
		}
	})
}

// A delete of a parent and the create of an incremental child at once: exactly one wins,
// and num_dependent_backups stays the count of live children.
func TestBackupConcurrentParentDeleteAndChildCreate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const rounds = 8
		setQuota(t, s, "p1", resource.QuotaBackups, 2*rounds)
		outcomes := map[string]int{}
		defer func() { t.Logf("outcomes of %d rounds: %v", rounds, outcomes) }()
		for i := range rounds {
			f := newBackupFixture(t, s, "p1")
			parent := f.backup("parent", resource.BackupAvailable, false, nil)
			var (
				wg                sync.WaitGroup
				delErr, createErr error
				child             = &resource.Backup{ProjectID: "p1", UserID: "u", VolumeID: f.vol.ID}
			)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, delErr = s.StartBackupDelete(ctx, resource.BackupDelete{BackupID: parent.ID, From: resource.BackupDeletableStatuses})
			}()
			go func() {
				defer wg.Done()
				_, createErr = s.CreateBackup(ctx, child, resource.BackupCreate{Incremental: true})
			}()
			wg.Wait()
			var refused *resource.BackupRefusedError
			switch {
			case delErr == nil && errors.As(createErr, &refused) && refused.Reason == "No backups available to do an incremental backup.":
				outcomes["delete won"]++
				if st, _ := volumeStatuses(t, s, f.vol.ID); st != resource.StatusAvailable {
					t.Errorf("round %d: refused child left the volume %s", i, st)
				}
			case createErr == nil && errors.As(delErr, &refused) && refused.Reason == "Incremental backups exist for this backup.":
				outcomes["create won"]++
				if got := mustGetBackup(t, s, child.ID); got.ParentID != parent.ID {
					t.Errorf("round %d: child's parent %q", i, got.ParentID)
				}
				if got := mustGetBackup(t, s, parent.ID); got.Status != resource.BackupAvailable || got.NumDependentBackups != 1 {
					t.Errorf("round %d: parent %s with %d dependents", i, got.Status, got.NumDependentBackups)
				}
			default:
				t.Errorf("round %d: delete %v, create %v; want exactly one to win", i, delErr, createErr)
			}
			checkBackupUsage(t, s, "p1")
		}
	})
}

// Creates racing at the quota limit: exactly the limit's worth win, and usage is the rows.
func TestBackupConcurrentCreatesAtQuotaLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const limit, tries = 3, 8
		setQuota(t, s, "p1", resource.QuotaBackups, limit)
		var vols []*resource.Volume
		for range tries {
			vols = append(vols, newBackupFixture(t, s, "p1").vol)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			won, ovr int
		)
		for _, v := range vols {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateBackup(ctx, &resource.Backup{ProjectID: "p1", UserID: "u", VolumeID: v.ID}, resource.BackupCreate{})
				var over *resource.OverQuotaError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.As(err, &over) && over.Resource == resource.QuotaBackups:
					ovr++
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != limit || ovr != tries-limit {
			t.Errorf("%d created, %d over quota; want %d and %d", won, ovr, limit, tries-limit)
		}
		checkBackupUsage(t, s, "p1")
		backingUp := 0
		for _, v := range vols {
			if st, _ := volumeStatuses(t, s, v.ID); st == resource.StatusBackingUp {
				backingUp++
			}
		}
		if backingUp != limit {
			t.Errorf("%d volumes backing-up, want %d (a refused create leaves its volume alone)", backingUp, limit)
		}
	})
}

func TestBackupQuotaErrorWording(t *testing.T) {
	for _, tt := range []struct {
		e    resource.OverQuotaError
		want string
	}{
		{resource.OverQuotaError{Resource: resource.QuotaBackups, Requested: 1, InUse: 10, Limit: 10}, "Maximum number of backups allowed (10) exceeded"},
		{resource.OverQuotaError{Resource: resource.QuotaBackupGigabytes, Requested: 5, InUse: 998, Limit: 1000},
			"Requested backup exceeds allowed Backup gigabytes quota. Requested 5G, quota is 1000G and 998G has been consumed."},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.e.Resource, got, tt.want)
		}
	}
}

func TestBackupImport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const p = "p1"
		f := newBackupFixture(t, s, p)
		full := f.backup("full", resource.BackupAvailable, false, map[string]string{"k": "v"})
		incr := f.backup("incr", resource.BackupAvailable, true, nil)
		var refused *resource.BackupRefusedError

		// A live backup cannot be imported over.
		if _, err := s.ImportBackup(ctx, &resource.Backup{ID: full.ID, ProjectID: p, Size: 2}); !errors.As(err, &refused) ||
			refused.Reason != "Backup already exists in database." {
			t.Fatalf("import of a live backup: %v", err)
		}
		// Delete both, then import them back: the child first, as a record may come in any order.
		for _, id := range []string{incr.ID, full.ID} {
			if _, err := s.StartBackupDelete(ctx, resource.BackupDelete{BackupID: id, From: resource.BackupDeletableStatuses}); err != nil {
				t.Fatal(err)
			}
			if err := s.DestroyBackup(ctx, id, []string{resource.BackupDeleting}); err != nil {
				t.Fatal(err)
			}
		}
		checkBackupUsage(t, s, p)
		for _, rec := range []*resource.Backup{incr, full} {
			imp := &resource.Backup{ID: rec.ID, ProjectID: p, UserID: "importer", Size: 1} // a record that says 1, then 2
			if _, err := s.ImportBackup(ctx, imp, backupCast(rec.ID)); err != nil {
				t.Fatal(err)
			}
			got := mustGetBackup(t, s, rec.ID)
			if got.Status != resource.BackupCreating || got.VolumeID != resource.ImportVolumeID || got.UserID != "importer" || len(got.Metadata) != 0 {
				t.Errorf("imported row = %+v", got)
			}
			checkBackupUsage(t, s, p)
			r := *rec
			r.Host, r.Service = "bk9", "posix"
			if err := s.FinishBackupImport(ctx, rec.ID, r); err != nil {
				t.Fatal(err)
			}
			got = mustGetBackup(t, s, rec.ID)
			if got.Status != resource.BackupAvailable || got.VolumeID != f.vol.ID || got.ParentID != rec.ParentID || got.Size != 2 ||
				got.Host != "bk9" || got.Name != rec.Name || got.Container != "c" || !got.DataTimestamp.Equal(*rec.DataTimestamp) {
				t.Errorf("imported backup = %+v, want as %+v", got, rec)
			}
			checkBackupUsage(t, s, p)
			if err := s.FinishBackupImport(ctx, rec.ID, r); !errors.Is(err, resource.ErrInvalidState) {
				t.Errorf("second finish: %v", err)
			}
		}
		if got := mustGetBackup(t, s, full.ID); got.NumDependentBackups != 1 {
			t.Errorf("imported parent counts %d dependents, want 1", got.NumDependentBackups)
		}
		if _, err := s.StartBackupDelete(ctx, resource.BackupDelete{BackupID: full.ID, From: resource.BackupDeletableStatuses}); !errors.As(err, &refused) {
			t.Errorf("delete of an imported parent: %v", err)
		}
		// Over quota: nothing written.
		setQuota(t, s, p, resource.QuotaBackupGigabytes, 4)
		if _, err := s.ImportBackup(ctx, &resource.Backup{ID: "11111111-1111-1111-1111-111111111111", ProjectID: p, Size: 1}); err == nil {
			t.Error("import over quota accepted")
		}
		if _, err := s.GetBackup(ctx, "11111111-1111-1111-1111-111111111111"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("refused import left a row: %v", err)
		}
		checkBackupUsage(t, s, p)
	})
}
