package db

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// groupFixture is a group type, a group on a backend and its member volumes, inserted with
// SQL (the group API is H2's; these tests need only the rows).
type groupFixture struct {
	t      *testing.T
	s      *Store
	typeID string
	group  string
	vols   []*resource.Volume
}

// gsInsertGroupType inserts a group type named name with specs; default_cgsnapshot_type is
// the one migration 00015 seeded.
func gsInsertGroupType(t testing.TB, s *Store, name string, specs map[string]string) string {
	t.Helper()
	if name == resource.DefaultCGSnapshotTypeName {
		return DefaultCGSnapshotTypeID
	}
	id := uuid.NewString()
	now := dbTime(time.Now().UTC())
	if _, err := s.db.Exec("INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)", id, name, now); err != nil {
		t.Fatal(err)
	}
	for k, v := range specs {
		if _, err := s.db.Exec("INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)", id, k, v, now); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// insertGroup inserts an available group of project on host, of group type typeID.
func gsInsertGroup(t testing.TB, s *Store, project, host, typeID string) string {
	t.Helper()
	id := uuid.NewString()
	if _, err := s.db.Exec("INSERT INTO `groups` (id, project_id, user_id, name, availability_zone, host, group_type_id, status, created_at, deleted) VALUES (?, ?, ?, 'g', 'nova', ?, ?, 'available', ?, 0)",
		id, project, "user-"+project, nullString(host), typeID, dbTime(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	return id
}

// addToGroup creates a volume (host h@b#p, size) in group.
func addToGroup(t testing.TB, s *Store, project, group string, size int, change ...func(*resource.Volume)) *resource.Volume {
	t.Helper()
	v := volume(project, append([]func(*resource.Volume){func(v *resource.Volume) { v.Host, v.Size = "h@b#p", size }}, change...)...)
	mustCreate(t, s, v)
	if _, err := s.db.Exec("UPDATE volumes SET group_id = ? WHERE id = ?", group, v.ID); err != nil {
		t.Fatal(err)
	}
	return v
}

func newGroupFixture(t *testing.T, s *Store, project string, sizes ...int) *groupFixture {
	t.Helper()
	f := &groupFixture{t: t, s: s, typeID: gsInsertGroupType(t, s, "gt-"+uuid.NewString()[:8], map[string]string{resource.ConsistentGroupSnapshotSpec: "<is> True"})}
	f.group = gsInsertGroup(t, s, project, "h@b#p", f.typeID)
	for _, size := range sizes {
		f.vols = append(f.vols, addToGroup(t, s, project, f.group, size))
	}
	return f
}

// groupSnap creates a group snapshot of the fixture's group and moves it (and its members,
// when available) to status.
func (f *groupFixture) groupSnap(name, status string) (*resource.GroupSnapshot, []*resource.Snapshot) {
	f.t.Helper()
	ctx := context.Background()
	gs := &resource.GroupSnapshot{GroupID: f.group, ProjectID: "p1", UserID: "u1", Name: name}
	snaps, _, err := f.s.CreateGroupSnapshot(ctx, gs)
	if err != nil {
		f.t.Fatal(err)
	}
	switch status {
	case resource.GroupStatusAvailable:
		if err := f.s.FinishGroupSnapshot(ctx, gs.ID, nil, nil); err != nil {
			f.t.Fatal(err)
		}
	case resource.GroupStatusCreating:
	default:
		if err := f.s.ResetGroupSnapshotStatus(ctx, gs.ID, status); err != nil {
			f.t.Fatal(err)
		}
	}
	gs.Status = status
	time.Sleep(2 * time.Millisecond) // distinct created_at
	return gs, snaps
}

func TestCreateGroupSnapshot(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1, 2)
		before := countRows(t, s, "outbox")
		gs := &resource.GroupSnapshot{GroupID: f.group, ProjectID: "p1", UserID: "u1", Name: "gs", Description: "d"}
		snaps, msgs, err := s.CreateGroupSnapshot(ctx, gs, message("create_group_snapshot"))
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || countRows(t, s, "outbox") != before+1 {
			t.Fatalf("outbox: %d returned, %d rows (before %d)", len(msgs), countRows(t, s, "outbox"), before)
		}
		if gs.Status != resource.GroupStatusCreating || gs.GroupTypeID != f.typeID {
			t.Fatalf("group snapshot %+v", gs)
		}
		got, err := s.GetGroupSnapshot(ctx, gs.ID)
		if err != nil || got.Name != "gs" || got.Description != "d" || got.GroupID != f.group || got.Status != "creating" {
			t.Fatalf("GetGroupSnapshot = %+v, %v", got, err)
		}
		members, err := s.ListGroupSnapshotMembers(ctx, gs.ID)
		if err != nil || len(members) != 2 || len(snaps) != 2 {
			t.Fatalf("members = %v, %v (returned %d)", members, err, len(snaps))
		}
		sizes := map[string]int{f.vols[0].ID: 1, f.vols[1].ID: 2}
		for i, sn := range members {
			if sn.GroupSnapshotID != gs.ID || sn.Status != resource.SnapshotCreating || sizes[sn.VolumeID] != sn.Size ||
				sn.Host != "h@b#p" || sn.Name != "gs" || sn.Progress != "0%" {
				t.Fatalf("member %d = %+v", i, sn)
			}
			delete(sizes, sn.VolumeID)
		}
		if got := usage(t, s, "p1", "snapshots"); got != 2 {
			t.Fatalf("snapshots in use = %d, want 2", got)
		}
		if got := usage(t, s, "p1", "gigabytes"); got != 3+3 { // the volumes' 3 and the snapshots' 3
			t.Fatalf("gigabytes in use = %d, want 6", got)
		}
		host, err := s.GroupSnapshotHost(ctx, gs.ID)
		if err != nil || host != "h@b#p" {
			t.Fatalf("GroupSnapshotHost = %q, %v", host, err)
		}
		specs, err := s.GroupSnapshotSpecs(ctx, gs.ID)
		if err != nil || specs[resource.ConsistentGroupSnapshotSpec] != "<is> True" {
			t.Fatalf("GroupSnapshotSpecs = %v, %v", specs, err)
		}
	})
}

func TestCreateGroupSnapshotRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tests := []struct {
			name     string
			setup    func(t *testing.T) string // returns the group id
			wantKind string
			want     string // the status reported
			notFound bool
		}{
			{name: "missing group", setup: func(*testing.T) string { return uuid.NewString() }, notFound: true},
			{name: "unplaced group", setup: func(t *testing.T) string {
				return gsInsertGroup(t, s, "p1", "", gsInsertGroupType(t, s, "u-"+uuid.NewString()[:6], nil))
			}, wantKind: "Group", want: "unplaced"},
			{name: "volume in error", setup: func(t *testing.T) string {
				f := newGroupFixture(t, s, "p1", 1)
				addToGroup(t, s, "p1", f.group, 1, func(v *resource.Volume) { v.Status = resource.StatusError })
				return f.group
			}, wantKind: "Volume", want: "error"},
			{name: "volume in maintenance", setup: func(t *testing.T) string {
				f := newGroupFixture(t, s, "p1")
				addToGroup(t, s, "p1", f.group, 1, func(v *resource.Volume) { v.Status = resource.StatusMaintenance })
				return f.group
			}, wantKind: "Volume", want: "maintenance"},
			{name: "volume not placed", setup: func(t *testing.T) string {
				f := newGroupFixture(t, s, "p1")
				v := addToGroup(t, s, "p1", f.group, 1)
				if _, err := s.db.Exec("UPDATE volumes SET host = NULL WHERE id = ?", v.ID); err != nil {
					t.Fatal(err)
				}
				return f.group
			}, wantKind: "Volume", want: "unplaced"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				group := tt.setup(t)
				gsBefore, snBefore := countRows(t, s, "group_snapshots"), countRows(t, s, "snapshots")
				useBefore := usage(t, s, "p1", "snapshots")
				_, _, err := s.CreateGroupSnapshot(ctx, &resource.GroupSnapshot{GroupID: group, ProjectID: "p1", UserID: "u1"}, message("x"))
				var ise *resource.InvalidStateError
				switch {
				case tt.notFound:
					wantNotFound(t, err, "Group", group)
				case !errors.As(err, &ise) || ise.Kind != tt.wantKind || ise.Status != tt.want:
					t.Fatalf("err = %v, want %s in %s", err, tt.wantKind, tt.want)
				}
				if countRows(t, s, "group_snapshots") != gsBefore || countRows(t, s, "snapshots") != snBefore || usage(t, s, "p1", "snapshots") != useBefore {
					t.Fatal("a refused group snapshot left rows or quota behind")
				}
			})
		}
	})
}

func TestCreateGroupSnapshotOverQuota(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		f := newGroupFixture(t, s, "p1", 1, 1, 1)
		if _, err := s.UpdateProjectQuotas(context.Background(), "p1", map[string]int64{resource.QuotaSnapshots: 2}); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateGroupSnapshot(context.Background(), &resource.GroupSnapshot{GroupID: f.group, ProjectID: "p1", UserID: "u1"})
		var oq *resource.OverQuotaError
		if !errors.As(err, &oq) || oq.Resource != "snapshots" {
			t.Fatalf("err = %v, want over quota on snapshots", err)
		}
		if countRows(t, s, "snapshots") != 0 || countRows(t, s, "group_snapshots") != 0 {
			t.Fatal("rows left behind")
		}
	})
}

func TestGroupSnapshotLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1, 2)
		gs, snaps := f.groupSnap("gs", resource.GroupStatusCreating)

		// One member failed: that one is error, the other available, the group snapshot error.
		msg := &resource.Message{ProjectID: "p1", RequestID: "req-1", ResourceType: "VOLUME_SNAPSHOT", ResourceUUID: gs.ID, ActionID: "001", DetailID: "001"}
		if err := s.FinishGroupSnapshot(ctx, gs.ID, []string{snaps[0].ID}, msg); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetGroupSnapshot(ctx, gs.ID); got.Status != resource.GroupStatusError {
			t.Fatalf("status = %s, want error", got.Status)
		}
		if a, b := getSnap(t, s, snaps[0].ID), getSnap(t, s, snaps[1].ID); a.Status != "error" || b.Status != "available" || b.Progress != "100%" {
			t.Fatalf("members %s, %s/%s", a.Status, b.Status, b.Progress)
		}
		if err := s.FinishGroupSnapshot(ctx, gs.ID, nil, nil); !errors.Is(err, resource.ErrInvalidState) {
			t.Fatalf("second finish: %v, want invalid state", err)
		}

		// Delete: error → deleting, members too, then destroyed with the quota back.
		if _, err := s.StartGroupSnapshotDelete(ctx, gs.ID, message("delete_group_snapshot")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartGroupSnapshotDelete(ctx, gs.ID); !errors.Is(err, resource.ErrInvalidState) {
			t.Fatalf("second delete: %v", err)
		}
		for _, sn := range snaps {
			if got := getSnap(t, s, sn.ID); got.Status != resource.SnapshotDeleting {
				t.Fatalf("member %s in %s", sn.ID, got.Status)
			}
		}
		if err := s.FailGroupSnapshotDelete(ctx, gs.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetGroupSnapshot(ctx, gs.ID); got.Status != resource.GroupStatusError {
			t.Fatalf("after a failed delete: %s", got.Status)
		}
		if _, err := s.StartGroupSnapshotDelete(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroyGroupSnapshot(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetGroupSnapshot(ctx, gs.ID); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("after destroy: %v", err)
		}
		if m, _ := s.ListGroupSnapshotMembers(ctx, gs.ID); len(m) != 0 {
			t.Fatalf("members left: %d", len(m))
		}
		if got := usage(t, s, "p1", "snapshots"); got != 0 {
			t.Fatalf("snapshots in use = %d", got)
		}
		if got := usage(t, s, "p1", "gigabytes"); got != 3 {
			t.Fatalf("gigabytes in use = %d, want the volumes' 3", got)
		}
		if err := s.DestroyGroupSnapshot(ctx, gs.ID); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("second destroy: %v", err)
		}
	})
}

func TestStartGroupSnapshotDeleteRefusedWhileGroupCreatedFromIt(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1)
		gs, _ := f.groupSnap("gs", resource.GroupStatusAvailable)
		child := gsInsertGroup(t, s, "p1", "h@b#p", f.typeID)
		if _, err := s.db.Exec("UPDATE `groups` SET status = 'creating', group_snapshot_id = ? WHERE id = ?", gs.ID, child); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartGroupSnapshotDelete(ctx, gs.ID); !errors.Is(err, resource.ErrInvalidState) {
			t.Fatalf("err = %v, want invalid state", err)
		}
		if _, err := s.db.Exec("UPDATE `groups` SET status = 'available' WHERE id = ?", child); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartGroupSnapshotDelete(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListGroupSnapshots(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1)
		g2 := newGroupFixture(t, s, "p1", 1)
		a, _ := f.groupSnap("b", resource.GroupStatusAvailable)
		b, _ := f.groupSnap("a", resource.GroupStatusError)
		c, _ := g2.groupSnap("Abc", resource.GroupStatusAvailable)
		// A group snapshot of the reserved cgsnapshot type is never listed here.
		cg := &groupFixture{t: t, s: s, typeID: gsInsertGroupType(t, s, resource.DefaultCGSnapshotTypeName, nil)}
		cg.group = gsInsertGroup(t, s, "p1", "h@b#p", cg.typeID)
		cg.groupSnap("cg", resource.GroupStatusAvailable)
		if _, err := s.db.Exec("UPDATE group_snapshots SET project_id = 'p2' WHERE id = ?", c.ID); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			f    GroupSnapshotFilter
			want []string
			err  error
		}{
			{name: "all, newest first", want: []string{c.ID, b.ID, a.ID}},
			{name: "project", f: GroupSnapshotFilter{ProjectID: "p1"}, want: []string{b.ID, a.ID}},
			{name: "group", f: GroupSnapshotFilter{GroupID: f.group}, want: []string{b.ID, a.ID}},
			{name: "status", f: GroupSnapshotFilter{Status: "available"}, want: []string{c.ID, a.ID}},
			{name: "name", f: GroupSnapshotFilter{Name: "a"}, want: []string{b.ID}},
			{name: "name like", f: GroupSnapshotFilter{NameLike: "A"}, want: []string{c.ID, b.ID}},
			{name: "sort by name asc", f: GroupSnapshotFilter{Sort: []resource.SnapshotSort{{Key: "name"}}}, want: []string{c.ID, b.ID, a.ID}},
			{name: "limit", f: GroupSnapshotFilter{Limit: 2}, want: []string{c.ID, b.ID}},
			{name: "marker", f: GroupSnapshotFilter{Marker: c.ID}, want: []string{b.ID, a.ID}},
			{name: "marker and limit", f: GroupSnapshotFilter{Marker: c.ID, Limit: 1}, want: []string{b.ID}},
			{name: "offset", f: GroupSnapshotFilter{Offset: 1}, want: []string{b.ID, a.ID}},
			{name: "bad marker", f: GroupSnapshotFilter{Marker: "nope"}, err: resource.ErrNotFound},
			{name: "marker of another project", f: GroupSnapshotFilter{ProjectID: "p1", Marker: c.ID}, err: resource.ErrNotFound},
			{name: "bad sort key", f: GroupSnapshotFilter{Sort: []resource.SnapshotSort{{Key: "nope; DROP"}}}, err: resource.ErrInvalidState},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListGroupSnapshots(ctx, tt.f)
				if tt.err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("err = %v, want %v", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, gs := range got {
					ids = append(ids, gs.ID)
				}
				if !slices.Equal(ids, tt.want) {
					t.Fatalf("got %v, want %v", ids, tt.want)
				}
			})
		}
	})
}

func TestListGroupSnapshotsByHostAndReset(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1)
		creating, _ := f.groupSnap("c", resource.GroupStatusCreating)
		f.groupSnap("a", resource.GroupStatusAvailable)
		other := &groupFixture{t: t, s: s, typeID: f.typeID}
		other.group = gsInsertGroup(t, s, "p1", "h@b2#p", f.typeID)
		other.groupSnap("o", resource.GroupStatusCreating)

		got, err := s.ListGroupSnapshotsByHost(ctx, "h@b", []string{resource.GroupStatusCreating, resource.GroupStatusDeleting})
		if err != nil || len(got) != 1 || got[0].ID != creating.ID {
			t.Fatalf("ListGroupSnapshotsByHost = %v, %v", got, err)
		}
		if err := s.ResetGroupSnapshotStatus(ctx, creating.ID, resource.GroupStatusError); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ListGroupSnapshotsByHost(ctx, "h@b", []string{resource.GroupStatusCreating}); len(got) != 0 {
			t.Fatalf("after reset: %v", got)
		}
		if err := s.ResetGroupSnapshotStatus(ctx, uuid.NewString(), "error"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("reset of a missing one: %v", err)
		}
	})
}

// TestGroupSnapshotMembersKeepKeys: the member snapshots of a group snapshot keep their
// volumes' key ids, as Cinder's create_snapshots_in_db, so that a group made from the group
// snapshot copies the right keys.
func TestGroupSnapshotMembersKeepKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1, 2)
		keys := map[string]string{f.vols[0].ID: "key-a", f.vols[1].ID: ""}
		for id, key := range keys {
			if key != "" {
				if _, err := s.db.Exec("UPDATE volumes SET encryption_key_id = ? WHERE id = ?", key, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, snaps := f.groupSnap("gs", resource.GroupStatusCreating)
		for _, sn := range snaps {
			got, err := s.SnapshotEncryptionKey(ctx, sn.ID)
			if err != nil || got != keys[sn.VolumeID] {
				t.Errorf("snapshot of %s keeps key %q, %v; want %q", sn.VolumeID, got, err, keys[sn.VolumeID])
			}
		}
	})
}
