package volume

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// groupSnapshottingDriver is the real local-file driver (possibly failing on purpose) that
// also takes group snapshots in one call, counting them: a backend with consistent group
// snapshots. The local files are copied member by member, but the manager sees one call.
type groupSnapshottingDriver struct {
	*faultInjectingDriver
	creates, deletes int
}

// CreateGroupSnapshot snapshots every member and returns data for each, naming the group
// snapshot, as an array that keeps its consistency groups' snapshots by group would.
func (d *groupSnapshottingDriver) CreateGroupSnapshot(ctx context.Context, gs driver.GroupSnapshot) (map[string]driver.Data, error) {
	d.creates++
	if err := d.err("CreateGroupSnapshot"); err != nil {
		return nil, err
	}
	data := map[string]driver.Data{}
	for _, m := range gs.Members {
		if _, err := d.Driver.CreateSnapshot(ctx, m.Snapshot, m.Volume); err != nil {
			return nil, err
		}
		data[m.Snapshot.ID] = driver.Data{Location: "cg:" + gs.ID}
	}
	return data, nil
}

func (d *groupSnapshottingDriver) DeleteGroupSnapshot(ctx context.Context, gs driver.GroupSnapshot) error {
	d.deletes++
	for _, m := range gs.Members {
		if err := d.Driver.DeleteSnapshot(ctx, m.Snapshot, m.Volume); err != nil {
			return err
		}
	}
	return nil
}

// groupOf puts made volumes of sizes into a new group on pool, of a group type with specs,
// and returns the group's id.
func (f *fixture) groupOf(specs map[string]string, sizes ...int) (string, []*resource.Volume) {
	f.t.Helper()
	d, err := sql.Open("sqlite", f.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		f.t.Fatal(err)
	}
	defer d.Close()
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	typeID, group := uuid.NewString(), uuid.NewString()
	exec := func(q string, args ...any) {
		if _, err := d.Exec(q, args...); err != nil {
			f.t.Fatal(err)
		}
	}
	exec("INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)", typeID, "gt-"+typeID[:8], now)
	for k, v := range specs {
		exec("INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)", typeID, k, v, now)
	}
	exec("INSERT INTO `groups` (id, project_id, user_id, name, availability_zone, host, group_type_id, status, created_at, deleted) VALUES (?, 'p', 'u', 'g', 'nova', ?, ?, 'available', ?, 0)",
		group, pool, typeID, now)
	var vols []*resource.Volume
	for _, size := range sizes {
		v := f.made(size)
		exec("UPDATE volumes SET group_id = ? WHERE id = ?", group, v.ID)
		vols = append(vols, v)
	}
	return group, vols
}

func (f *fixture) startGroupSnapshot(group string) (*resource.GroupSnapshot, []*resource.Snapshot) {
	f.t.Helper()
	gs := &resource.GroupSnapshot{GroupID: group, ProjectID: "p", UserID: "u", Name: "gs"}
	snaps, _, err := f.store.CreateGroupSnapshot(context.Background(), gs)
	if err != nil {
		f.t.Fatal(err)
	}
	return gs, snaps
}

func (f *fixture) groupSnapshotStatus(id string) string {
	f.t.Helper()
	gs, err := f.store.GetGroupSnapshot(context.Background(), id)
	if errors.Is(err, resource.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return gs.Status
}

func (f *fixture) snapshotOnBackend(sn *resource.Snapshot) bool {
	f.t.Helper()
	ok, err := f.drv.SnapshotExists(context.Background(), driverSnapshot(sn))
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func TestGroupSnapshotCreateAndDelete(t *testing.T) {
	consistentSpec := map[string]string{resource.ConsistentGroupSnapshotSpec: "<is> True"}
	tests := []struct {
		name        string
		specs       map[string]string
		groupDriver bool // the driver is a GroupSnapshotter
		fail        []string
		wantCalls   int // CreateGroupSnapshot calls
		wantStatus  string
		wantMember  string
	}{
		{name: "generic: no group snapshotter", specs: consistentSpec, wantStatus: "available", wantMember: "available"},
		{name: "generic: not asked for", specs: nil, groupDriver: true, wantStatus: "available", wantMember: "available"},
		{name: "generic: asked for False", specs: map[string]string{resource.ConsistentGroupSnapshotSpec: "<is> False"}, groupDriver: true, wantStatus: "available", wantMember: "available"},
		{name: "consistent", specs: consistentSpec, groupDriver: true, wantCalls: 1, wantStatus: "available", wantMember: "available"},
		{name: "consistent, failing", specs: consistentSpec, groupDriver: true, fail: []string{"CreateGroupSnapshot"}, wantCalls: 1, wantStatus: "error", wantMember: "error"},
		{name: "generic, failing", specs: nil, fail: []string{"CreateSnapshot"}, wantStatus: "error", wantMember: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			fd := &faultInjectingDriver{Driver: f.drv, fail: map[string]bool{}}
			for _, m := range tt.fail {
				fd.fail[m] = true
			}
			gd := &groupSnapshottingDriver{faultInjectingDriver: fd}
			if tt.groupDriver {
				f.m.Driver = gd
			} else {
				f.m.Driver = fd
			}
			group, _ := f.groupOf(tt.specs, 1, 2)
			gs, snaps := f.startGroupSnapshot(group)
			if err := f.m.CreateGroupSnapshot(ctx, gs.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.groupSnapshotStatus(gs.ID); got != tt.wantStatus {
				t.Fatalf("group snapshot %s, want %s", got, tt.wantStatus)
			}
			if gd.creates != tt.wantCalls {
				t.Fatalf("%d group snapshot calls, want %d", gd.creates, tt.wantCalls)
			}
			for _, sn := range snaps {
				got, err := f.store.GetSnapshot(ctx, sn.ID)
				if err != nil || got.Status != tt.wantMember {
					t.Fatalf("member %v, %v; want %s", got, err, tt.wantMember)
				}
				if on := f.snapshotOnBackend(sn); on != (tt.wantMember == "available") {
					t.Fatalf("member %s on the backend: %v", sn.ID, on)
				}
				// The data a consistent group snapshot returned is kept with each member.
				if want := "cg:" + gs.ID; tt.wantCalls == 1 && tt.wantMember == "available" && got.Provider.Location != want {
					t.Fatalf("member %s provider location %q, want %q", sn.ID, got.Provider.Location, want)
				}
			}
			if tt.wantStatus == "error" {
				msgs, err := f.store.ListMessages(ctx, resource.MessageFilter{ProjectID: "p"})
				if err != nil || len(msgs) != 1 || msgs[0].DetailID != resource.DetailSnapshotCreateError {
					t.Fatalf("messages %v, %v; want one snapshot create error", msgs, err)
				}
			}
			// A redelivered create does nothing more.
			if err := f.m.CreateGroupSnapshot(ctx, gs.ID); err != nil {
				t.Fatal(err)
			}
			if gd.creates != tt.wantCalls {
				t.Fatalf("a redelivered create called the driver again")
			}

			f.m.Driver = gd // deletes work whatever made it
			if _, err := f.store.StartGroupSnapshotDelete(ctx, gs.ID); err != nil {
				t.Fatal(err)
			}
			if err := f.m.DeleteGroupSnapshot(ctx, gs.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.groupSnapshotStatus(gs.ID); got != "gone" {
				t.Fatalf("after delete: %s", got)
			}
			for _, sn := range snaps {
				if f.snapshotOnBackend(sn) {
					t.Fatalf("member %s left on the backend", sn.ID)
				}
				if _, err := f.store.GetSnapshot(ctx, sn.ID); !errors.Is(err, resource.ErrNotFound) {
					t.Fatalf("member %s row: %v", sn.ID, err)
				}
			}
		})
	}
}

func TestGroupSnapshotDeleteFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	group, _ := f.groupOf(nil, 1)
	gs, snaps := f.startGroupSnapshot(group)
	if err := f.m.CreateGroupSnapshot(ctx, gs.ID); err != nil {
		t.Fatal(err)
	}
	f.failing("DeleteSnapshot")
	if _, err := f.store.StartGroupSnapshotDelete(ctx, gs.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.m.DeleteGroupSnapshot(ctx, gs.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.groupSnapshotStatus(gs.ID); got != "error" {
		t.Fatalf("group snapshot %s, want error", got)
	}
	if sn, _ := f.store.GetSnapshot(ctx, snaps[0].ID); sn == nil || sn.Status != "error" {
		t.Fatalf("member %v, want error", sn)
	}
}

func TestGroupSnapshotNotOurs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	group, _ := f.groupOf(nil, 1)
	gs, _ := f.startGroupSnapshot(group)
	f.m.Host = "other@file"
	if err := f.m.CreateGroupSnapshot(ctx, gs.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.groupSnapshotStatus(gs.ID); got != "creating" {
		t.Fatalf("another backend's group snapshot went to %s", got)
	}
	if err := f.m.CreateGroupSnapshot(ctx, uuid.NewString()); err != nil {
		t.Fatalf("a missing group snapshot: %v", err)
	}
}

// After a crash, Recover finishes a group snapshot left in creating (its members with it,
// not one by one as plain snapshots) and one left in deleting.
func TestRecoverGroupSnapshots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gd := &groupSnapshottingDriver{faultInjectingDriver: &faultInjectingDriver{Driver: f.drv, fail: map[string]bool{}}}
	f.m.Driver = gd
	group, _ := f.groupOf(map[string]string{resource.ConsistentGroupSnapshotSpec: "<is> True"}, 1, 1)
	creating, members := f.startGroupSnapshot(group)
	deleting, deletingMembers := f.startGroupSnapshot(group)
	if err := f.m.CreateGroupSnapshot(ctx, deleting.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartGroupSnapshotDelete(ctx, deleting.ID); err != nil {
		t.Fatal(err)
	}
	gd.creates = 0
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.groupSnapshotStatus(creating.ID); got != "available" {
		t.Fatalf("creating after recovery: %s", got)
	}
	if gd.creates != 1 {
		t.Fatalf("recovery made %d group snapshot calls, want 1 (members are not recovered one by one)", gd.creates)
	}
	for _, sn := range members {
		if !f.snapshotOnBackend(sn) {
			t.Fatalf("member %s not on the backend", sn.ID)
		}
	}
	if got := f.groupSnapshotStatus(deleting.ID); got != "gone" {
		t.Fatalf("deleting after recovery: %s", got)
	}
	for _, sn := range deletingMembers {
		if f.snapshotOnBackend(sn) {
			t.Fatalf("member %s of the deleted group snapshot left on the backend", sn.ID)
		}
	}
}
