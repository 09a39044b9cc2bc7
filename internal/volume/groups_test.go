package volume

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// groupType makes a group type by SQL (group types are another area's).
func (f *fixture) groupType() string {
	f.t.Helper()
	id := uuid.NewString()
	if err := execSQL(f, `INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)`,
		id, "gt-"+id[:8], time.Now().UTC().Format("2006-01-02 15:04:05.000000")); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// execSQL runs a statement on the fixture's database file.
func execSQL(f *fixture, query string, args ...any) error {
	raw, err := sql.Open("sqlite", f.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = raw.Exec(query, args...)
	return err
}

// group inserts a group in status on onHost with members (volumes inserted with it).
func (f *fixture) group(status, onHost string, members ...*resource.Volume) *resource.Group {
	f.t.Helper()
	g := &resource.Group{ProjectID: "p", UserID: "u", AvailabilityZone: "nova", Host: onHost, GroupTypeID: f.groupType(),
		VolumeTypeIDs: []string{db.DefaultVolumeTypeID}, Status: status}
	for _, v := range members {
		// The members claim capacity on their pool as they are written: a report of it.
		total := 1000.0
		if err := f.store.UpsertPool(context.Background(), resource.PoolCapacity{Name: v.Host, Backend: host, TotalGB: &total,
			Ratio: 1, ReportedAt: time.Now().UTC()}); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.store.CreateGroup(context.Background(), g, members); err != nil {
		f.t.Fatal(err)
	}
	return g
}

func (f *fixture) groupStatus(id string) string {
	f.t.Helper()
	g, err := f.store.GetGroup(context.Background(), id)
	if errors.Is(err, resource.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return g.Status
}

func member(source string) *resource.Volume {
	return &resource.Volume{ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating, AvailabilityZone: "nova",
		Host: host + "#file", VolumeTypeID: db.DefaultVolumeTypeID, SourceVolID: source, Metadata: map[string]string{}}
}

func TestCreateGroup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := f.made(1)
	for _, tc := range []struct {
		name        string
		status      string
		onHost      string
		members     []*resource.Volume
		want        string
		wantMembers string
	}{
		{"a new group", resource.GroupStatusCreating, host + "#file", nil, resource.GroupStatusAvailable, ""},
		{"placed elsewhere: not ours", resource.GroupStatusCreating, "node2@file#file", nil, resource.GroupStatusCreating, ""},
		{"no longer creating", resource.GroupStatusError, host + "#file", nil, resource.GroupStatusError, ""},
		{"a clone of a group", resource.GroupStatusCreating, host + "#file", []*resource.Volume{member(src.ID)}, resource.GroupStatusAvailable, resource.StatusAvailable},
		{"a member whose source is gone", resource.GroupStatusCreating, host + "#file", []*resource.Volume{member(uuid.NewString())}, resource.GroupStatusError, resource.StatusError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := f.group(tc.status, tc.onHost, tc.members...)
			for i := 0; i < 2; i++ { // a redelivery changes nothing
				if err := f.m.CreateGroup(ctx, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.groupStatus(g.ID); got != tc.want {
				t.Errorf("group %s, want %s", got, tc.want)
			}
			for _, v := range tc.members {
				if got := f.status(v.ID); got != tc.wantMembers {
					t.Errorf("member %s, want %s", got, tc.wantMembers)
				}
				if tc.wantMembers == resource.StatusAvailable && f.fileSize(v.ID) != driver.GiB {
					t.Errorf("member's storage: size %d", f.fileSize(v.ID))
				}
			}
			if tc.want == resource.GroupStatusError && tc.status == resource.GroupStatusCreating {
				ms, _ := f.store.ListMessages(ctx, resource.MessageFilter{ProjectID: "p"})
				found := false
				for _, m := range ms {
					found = found || (m.ResourceUUID == g.ID && m.ResourceType == resource.MessageResourceGroup)
				}
				if !found {
					t.Errorf("no user message for group %s", g.ID)
				}
			}
		})
	}
}

func TestDeleteAndUpdateGroup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.group(resource.GroupStatusAvailable, host+"#file")
	a, b := f.made(1), f.made(1)

	// update: a and b join.
	if _, err := f.store.StartGroupUpdate(ctx, g.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.m.UpdateGroup(ctx, rpcapi.UpdateGroupArgs{GroupID: g.ID, AddVolumes: []string{a.ID, b.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := f.groupStatus(g.ID); got != resource.GroupStatusAvailable {
		t.Fatalf("group %s after update, want available", got)
	}
	if vs, _ := f.store.ListGroupVolumes(ctx, g.ID); len(vs) != 2 {
		t.Fatalf("%d members, want 2", len(vs))
	}
	// An update for a group no longer updating is dropped.
	if err := f.m.UpdateGroup(ctx, rpcapi.UpdateGroupArgs{GroupID: g.ID, RemoveVolumes: []string{a.ID}}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := f.store.ListGroupVolumes(ctx, g.ID); len(vs) != 2 {
		t.Fatalf("a stale update changed the members: %d", len(vs))
	}

	// delete with volumes: storage, rows, then the group.
	if _, err := f.store.StartGroupDelete(ctx, g.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.m.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.groupStatus(g.ID); got != "gone" {
		t.Errorf("group %s after delete, want gone", got)
	}
	for _, v := range []*resource.Volume{a, b} {
		if f.status(v.ID) != "gone" || f.fileSize(v.ID) != -1 {
			t.Errorf("member %s: status %s, file size %d; want both gone", v.ID, f.status(v.ID), f.fileSize(v.ID))
		}
	}
	qs, _ := f.store.ProjectQuotas(ctx, "p")
	if q, _ := qs.Get(resource.QuotaGroups); q.InUse != 0 {
		t.Errorf("groups in use %d after delete, want 0", q.InUse)
	}
}

func TestRecoverGroups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := f.made(1)
	creating := f.group(resource.GroupStatusCreating, host+"#file", member(src.ID))
	deleting := f.group(resource.GroupStatusAvailable, host+"#file")
	gone := f.made(1)
	if _, err := f.store.StartGroupUpdate(ctx, deleting.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.FinishGroupUpdate(ctx, deleting.ID, []string{gone.ID}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartGroupDelete(ctx, deleting.ID, true); err != nil {
		t.Fatal(err)
	}
	updating := f.group(resource.GroupStatusAvailable, host+"#file")
	if _, err := f.store.StartGroupUpdate(ctx, updating.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	elsewhere := f.group(resource.GroupStatusCreating, "node2@file#file")

	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id, want string
	}{
		{"creating is made", creating.ID, resource.GroupStatusAvailable},
		{"deleting is deleted", deleting.ID, "gone"},
		{"updating is settled", updating.ID, resource.GroupStatusAvailable},
		{"another backend's is left", elsewhere.ID, resource.GroupStatusCreating},
	} {
		if got := f.groupStatus(c.id); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if f.status(gone.ID) != "gone" || f.fileSize(gone.ID) != -1 {
		t.Errorf("the deleting group's member: %s, file %d", f.status(gone.ID), f.fileSize(gone.ID))
	}
	if vs, _ := f.store.ListGroupVolumes(ctx, creating.ID); len(vs) != 1 || vs[0].Status != resource.StatusAvailable {
		t.Errorf("the creating group's member: %+v", vs)
	}
}

// groupDriver is the localfile driver with groups of its own (driver.GroupManager): it
// records the calls and fails those in fail.
type groupDriver struct {
	driver.Driver
	calls []string
	fail  map[string]bool
}

func (d *groupDriver) call(name string, g driver.Group) error {
	d.calls = append(d.calls, name+" "+g.ID)
	if d.fail[name] {
		return errors.New(name + " refused by the backend")
	}
	return nil
}

func (d *groupDriver) CreateGroup(_ context.Context, g driver.Group) error {
	return d.call("create", g)
}
func (d *groupDriver) DeleteGroup(_ context.Context, g driver.Group) error {
	return d.call("delete", g)
}
func (d *groupDriver) UpdateGroup(_ context.Context, g driver.Group, add, remove []driver.Volume) error {
	return d.call("update", g)
}

func TestGroupManagerDriver(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fail string
		want string // the group's status after create then delete
	}{
		{"every call succeeds", "", "gone"},
		{"create refused", "create", resource.GroupStatusError},
		{"delete refused", "delete", resource.GroupStatusError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			d := &groupDriver{Driver: f.drv, fail: map[string]bool{tc.fail: true}}
			f.m.Driver = d
			g := f.group(resource.GroupStatusCreating, host+"#file")
			if err := f.m.CreateGroup(ctx, g.ID); err != nil {
				t.Fatal(err)
			}
			if f.groupStatus(g.ID) == resource.GroupStatusAvailable {
				if _, err := f.store.StartGroupDelete(ctx, g.ID, true); err != nil {
					t.Fatal(err)
				}
				if err := f.m.DeleteGroup(ctx, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.groupStatus(g.ID); got != tc.want {
				t.Errorf("group %s, want %s (driver calls %v)", got, tc.want, d.calls)
			}
			if len(d.calls) == 0 || d.calls[0] != "create "+g.ID {
				t.Errorf("driver calls %v, want CreateGroup first", d.calls)
			}
		})
	}
}

// TestGroupCreateRefusedFailsMembers: when the backend refuses to create a group made from a
// source, its members go to error with the group and give their capacity claims back:
// nothing is left creating nor holding capacity for storage that was never made.
func TestGroupCreateRefusedFailsMembers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.m.Driver = &groupDriver{Driver: f.drv, fail: map[string]bool{"create": true}}
	members := []*resource.Volume{member(uuid.NewString()), member(uuid.NewString())}
	g := f.group(resource.GroupStatusCreating, host+"#file", members...)
	pool := func() int64 {
		p, err := f.store.GetPool(ctx, host+"#file")
		if err != nil {
			t.Fatal(err)
		}
		return p.AllocatedGB
	}
	if got := pool(); got != 2 {
		t.Fatalf("allocated %d before, want the members' 2", got)
	}
	if err := f.m.CreateGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.groupStatus(g.ID); got != resource.GroupStatusError {
		t.Errorf("group %s, want error", got)
	}
	for _, m := range members {
		if v, err := f.store.GetVolume(ctx, m.ID); err != nil || v.Status != resource.StatusError {
			t.Errorf("member %s: %+v, %v; want error", m.ID, v, err)
		}
	}
	if got := pool(); got != 0 {
		t.Errorf("allocated %d after the refusal, want 0", got)
	}
}
