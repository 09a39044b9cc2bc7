package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// insertGroupType makes a group type by SQL (group types are another area's) and returns
// its id.
func insertGroupType(t testing.TB, s *Store, name string, specs map[string]string) string {
	t.Helper()
	id := uuid.NewString()
	now := dbTime(s.now())
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

// newGroup creates a group of project p (available on h@b#p unless change says otherwise).
func newGroup(t testing.TB, s *Store, p, typeID string, change ...func(*resource.Group)) *resource.Group {
	t.Helper()
	g := &resource.Group{ProjectID: p, UserID: "user-" + p, Name: "grp", AvailabilityZone: "nova",
		GroupTypeID: typeID, VolumeTypeIDs: []string{DefaultVolumeTypeID}, Host: "h@b#p", Status: resource.GroupStatusAvailable}
	for _, c := range change {
		c(g)
	}
	if _, err := s.CreateGroup(context.Background(), g, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // distinct created_at
	return g
}

func groupsInUse(t testing.TB, s *Store, p string) int64 {
	t.Helper()
	qs, err := s.ProjectQuotas(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := qs.Get(resource.QuotaGroups)
	return e.InUse
}

func TestGroupCreateGetQuota(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gt := insertGroupType(t, s, "gt", map[string]string{"consistent_group_snapshot_enabled": "<is> True"})
		got, err := s.GetGroupType(ctx, gt)
		if err != nil || got.GroupSpecs["consistent_group_snapshot_enabled"] != "<is> True" {
			t.Fatalf("GetGroupType = %+v, %v", got, err)
		}
		if byName, err := s.GetGroupTypeByName(ctx, "gt"); err != nil || byName.ID != gt {
			t.Fatalf("GetGroupTypeByName = %+v, %v", byName, err)
		}
		g := &resource.Group{ProjectID: "p1", UserID: "u", Name: "g", AvailabilityZone: "nova",
			GroupTypeID: gt, VolumeTypeIDs: []string{DefaultVolumeTypeID}}
		out, err := s.CreateGroup(ctx, g, nil, message("create_group"))
		if err != nil || len(out) != 1 {
			t.Fatalf("CreateGroup = %v, %v", out, err)
		}
		read, err := s.GetGroup(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if read.Status != resource.GroupStatusCreating || !slices.Equal(read.VolumeTypeIDs, []string{DefaultVolumeTypeID}) || read.Host != "" {
			t.Errorf("GetGroup = %+v", read)
		}
		if n := groupsInUse(t, s, "p1"); n != 1 {
			t.Errorf("groups in use = %d, want 1", n)
		}
		// Bad references and the quota limit write nothing.
		for name, bad := range map[string]*resource.Group{
			"group type":  {ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: uuid.NewString(), VolumeTypeIDs: []string{DefaultVolumeTypeID}},
			"volume type": {ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: gt, VolumeTypeIDs: []string{uuid.NewString()}},
		} {
			_, err := s.CreateGroup(ctx, bad, nil)
			var nf *resource.NotFoundError
			if !errors.As(err, &nf) {
				t.Errorf("%s: err = %v, want not found", name, err)
			}
		}
		if n := groupsInUse(t, s, "p1"); n != 1 {
			t.Errorf("groups in use after refusals = %d, want 1", n)
		}
		if _, err := s.UpdateProjectQuotas(ctx, "p1", map[string]int64{resource.QuotaGroups: 1}); err != nil {
			t.Fatal(err)
		}
		var oq *resource.OverQuotaError
		if _, err := s.CreateGroup(ctx, &resource.Group{ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: gt,
			VolumeTypeIDs: []string{DefaultVolumeTypeID}}, nil); !errors.As(err, &oq) || oq.Resource != resource.QuotaGroups {
			t.Errorf("over quota: err = %v", err)
		}
		// Placement: once, while creating and unplaced.
		if _, err := s.PlaceGroup(ctx, g.ID, "h@b#p"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PlaceGroup(ctx, g.ID, "h@b#q"); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("second PlaceGroup: err = %v, want invalid state", err)
		}
		// Destroy gives the quota back.
		if _, err := s.TransitionGroup(ctx, g.ID, []string{resource.GroupStatusCreating}, resource.GroupStatusDeleting, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroyGroup(ctx, g.ID, []string{resource.GroupStatusDeleting}, false); err != nil {
			t.Fatal(err)
		}
		if n := groupsInUse(t, s, "p1"); n != 0 {
			t.Errorf("groups in use after destroy = %d, want 0", n)
		}
		if _, err := s.GetGroup(ctx, g.ID); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetGroup after destroy: %v", err)
		}
	})
}

func TestGroupList(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gt := insertGroupType(t, s, "gt", nil)
		a := newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Name = "a" })
		b := newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Name = "b"; g.Status = resource.GroupStatusError })
		c := newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Name = "c" })
		other := newGroup(t, s, "p2", gt)
		ids := func(gs []*resource.Group) []string {
			out := []string{}
			for _, g := range gs {
				out = append(out, g.ID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    resource.GroupFilter
			want []string
		}{
			{"project, newest first", resource.GroupFilter{ProjectID: "p1"}, []string{c.ID, b.ID, a.ID}},
			{"all projects", resource.GroupFilter{}, []string{other.ID, c.ID, b.ID, a.ID}},
			{"by name", resource.GroupFilter{ProjectID: "p1", Name: "b"}, []string{b.ID}},
			{"by status", resource.GroupFilter{ProjectID: "p1", Status: "available"}, []string{c.ID, a.ID}},
			{"by zone", resource.GroupFilter{ProjectID: "p1", Equal: map[string]string{"availability_zone": "elsewhere"}}, []string{}},
			{"sort name asc", resource.GroupFilter{ProjectID: "p1", Sort: []resource.GroupSort{{Key: "name"}}}, []string{a.ID, b.ID, c.ID}},
			{"limit", resource.GroupFilter{ProjectID: "p1", Limit: 2}, []string{c.ID, b.ID}},
			{"marker", resource.GroupFilter{ProjectID: "p1", Marker: c.ID}, []string{b.ID, a.ID}},
			{"marker, name asc", resource.GroupFilter{ProjectID: "p1", Marker: a.ID, Sort: []resource.GroupSort{{Key: "name"}}}, []string{b.ID, c.ID}},
			{"offset", resource.GroupFilter{ProjectID: "p1", Offset: 1, Limit: 1}, []string{b.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				gs, err := s.ListGroups(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(gs); !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		if _, err := s.ListGroups(ctx, resource.GroupFilter{ProjectID: "p1", Marker: other.ID}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("marker of another project: err = %v, want not found", err)
		}
		if _, err := s.ListGroups(ctx, resource.GroupFilter{Sort: []resource.GroupSort{{Key: "nope"}}}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("bad sort key: err = %v", err)
		}
	})
}

func TestGroupMembershipAndDelete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gt := insertGroupType(t, s, "gt", nil)
		g := newGroup(t, s, "p1", gt)
		v1 := volume("p1", func(v *resource.Volume) { v.Host = "h@b#p" })
		v2 := volume("p1", func(v *resource.Volume) { v.Host = "h@b#p" })
		mustCreate(t, s, v1)
		mustCreate(t, s, v2)

		// An update: available → updating, then the members join.
		if _, err := s.StartGroupUpdate(ctx, g.ID, nil, nil, message("update_group")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartGroupUpdate(ctx, g.ID, nil, nil); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("second StartGroupUpdate: err = %v, want invalid state", err)
		}
		added, removed, err := s.FinishGroupUpdate(ctx, g.ID, []string{v1.ID, v2.ID}, nil)
		if err != nil || added != 2 || removed != 0 {
			t.Fatalf("FinishGroupUpdate = %d, %d, %v", added, removed, err)
		}
		members, err := s.ListGroupVolumes(ctx, g.ID)
		if err != nil || len(members) != 2 || members[0].GroupID != g.ID {
			t.Fatalf("ListGroupVolumes = %v, %v", members, err)
		}
		if vs, err := s.ListVolumes(ctx, resource.VolumeFilter{Equal: map[string]string{"group_id": g.ID}}); err != nil || len(vs) != 2 {
			t.Errorf("ListVolumes by group_id = %d, %v", len(vs), err)
		}

		var de *resource.GroupDeleteError
		if _, err := s.StartGroupDelete(ctx, g.ID, false); !errors.As(err, &de) {
			t.Errorf("delete with volumes, no flag: err = %v", err)
		}
		// A member with a snapshot stops the delete with volumes; nothing changes.
		sn := &resource.Snapshot{ProjectID: "p1", UserID: "u", VolumeID: v1.ID}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartGroupDelete(ctx, g.ID, true); !errors.As(err, &de) || de.Reason != "Volume in group still has dependent snapshots." {
			t.Errorf("delete with a member's snapshot: err = %v", err)
		}
		if v := getVol(t, s, v2.ID); v.Status != resource.StatusAvailable {
			t.Errorf("refused delete changed a member to %s", v.Status)
		}
		if err := s.ResetSnapshotStatus(ctx, sn.ID, resource.SnapshotDeleting); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroySnapshot(ctx, sn.ID, []string{resource.SnapshotDeleting}); err != nil {
			t.Fatal(err)
		}
		out, err := s.StartGroupDelete(ctx, g.ID, true, message("delete_group"))
		if err != nil || len(out) != 1 {
			t.Fatalf("StartGroupDelete = %v, %v", out, err)
		}
		for _, id := range []string{v1.ID, v2.ID} {
			if v := getVol(t, s, id); v.Status != resource.StatusDeleting {
				t.Errorf("member %s is %s, want deleting", id, v.Status)
			}
		}
		if err := s.DestroyGroup(ctx, g.ID, []string{resource.GroupStatusDeleting}, false); !errors.As(err, &de) {
			t.Errorf("destroy with members left: err = %v", err)
		}
		for _, id := range []string{v1.ID, v2.ID} {
			if err := s.DestroyVolume(ctx, id, []string{resource.StatusDeleting}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DestroyGroup(ctx, g.ID, []string{resource.GroupStatusDeleting}, false); err != nil {
			t.Fatal(err)
		}
		gs, err := s.ListGroupsInStatus(ctx, []string{resource.GroupStatusDeleting}, time.Time{})
		if err != nil || len(gs) != 0 {
			t.Errorf("ListGroupsInStatus after destroy = %v, %v", gs, err)
		}
	})
}

func TestGroupsByHostAndMembersFromSource(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gt := insertGroupType(t, s, "gt", nil)
		mustUpsert(t, s, poolCap("h@b#p", 100)) // the members' claims
		src := newGroup(t, s, "p1", gt)
		newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Host = "h@b2#p" })
		newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Host = "h@bb#p" })
		clone := &resource.Group{ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: gt, Host: src.Host,
			VolumeTypeIDs: src.VolumeTypeIDs, SourceGroupID: src.ID}
		member := volume("p1", func(v *resource.Volume) {
			v.Status = resource.StatusCreating
			v.Host = src.Host
			v.SourceVolID = uuid.NewString()
		})
		if _, err := s.CreateGroup(ctx, clone, []*resource.Volume{member}); err != nil {
			t.Fatal(err)
		}
		if v := getVol(t, s, member.ID); v.GroupID != clone.ID || v.Status != resource.StatusCreating {
			t.Errorf("member = %+v", v)
		}
		gs, err := s.ListGroupsByHost(ctx, "h@b", []string{resource.GroupStatusCreating})
		if err != nil || len(gs) != 1 || gs[0].ID != clone.ID || gs[0].SourceGroupID != src.ID {
			t.Errorf("ListGroupsByHost(creating) = %v, %v", gs, err)
		}
		gs, err = s.ListGroupsByHost(ctx, "h@b", nil)
		if err != nil || len(gs) != 2 {
			t.Errorf("ListGroupsByHost(any) = %d groups, %v; want 2 (not h@b2 nor h@bb)", len(gs), err)
		}
		// A group being cloned cannot be deleted.
		var de *resource.GroupDeleteError
		if _, err := s.StartGroupDelete(ctx, src.ID, false); !errors.As(err, &de) {
			t.Errorf("delete of a source being cloned: err = %v", err)
		}
	})
}

func getVol(t testing.TB, s *Store, id string) *resource.Volume {
	t.Helper()
	v, err := s.GetVolume(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGroupMembersClaimCapacity: the members of a group made from a source claim their sizes
// on the group's pool in the transaction that writes them, as a single volume's placement
// does, keep their encryption key ids, and give the claim back as any volume does. When the
// pool cannot hold them nothing is written, and CreateGroupInError then records the group and
// its members in error with a user message, holding no claim.
func TestGroupMembersClaimCapacity(t *testing.T) {
	thickType := func(t *testing.T, s *Store) string {
		t.Helper()
		vt := &resource.VolumeType{ID: uuid.NewString(), Name: "thick", IsPublic: true,
			ExtraSpecs: map[string]string{"provisioning:type": "thick"}}
		if err := s.CreateVolumeType(context.Background(), vt); err != nil {
			t.Fatal(err)
		}
		return vt.ID
	}
	cases := []struct {
		name  string
		pool  func(*resource.PoolCapacity) // nil: the pool has no row
		thick bool
		sizes []int
		fits  bool
	}{
		{"fits", func(p *resource.PoolCapacity) {}, false, []int{30, 30}, true},
		{"exactly fits", func(p *resource.PoolCapacity) {}, false, []int{60, 40}, true},
		{"too big together", func(p *resource.PoolCapacity) {}, false, []int{60, 41}, false},
		{"thin pool over-subscribed", func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 2 }, false, []int{150, 50}, true},
		{"thick type on a thin pool", func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 2 }, true, []int{150}, false},
		{"backend down", func(p *resource.PoolCapacity) { p.Down = true }, false, []int{1}, false},
		{"pool never reported", nil, false, []int{1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				const pool = "h@b#p"
				if c.pool != nil {
					mustUpsert(t, s, poolCap(pool, 100, c.pool))
				}
				typeID := DefaultVolumeTypeID
				if c.thick {
					typeID = thickType(t, s)
				}
				gt := insertGroupType(t, s, "gt", nil)
				g := &resource.Group{ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: gt, Host: pool,
					VolumeTypeIDs: []string{typeID}, SourceGroupID: uuid.NewString()}
				var members []*resource.Volume
				for i, size := range c.sizes {
					members = append(members, volume("p1", func(v *resource.Volume) {
						v.Status, v.Host, v.Size, v.VolumeTypeID = resource.StatusCreating, pool, size, typeID
						v.SourceVolID, v.EncryptionKeyID = uuid.NewString(), fmt.Sprintf("key-%d", i)
					}))
				}
				total := 0
				for _, n := range c.sizes {
					total += n
				}
				before := allocatedOr0(t, s, pool)
				_, err := s.CreateGroup(ctx, g, members)
				if !c.fits {
					if !errors.Is(err, resource.ErrGroupNoRoom) {
						t.Fatalf("CreateGroup = %v, want ErrGroupNoRoom", err)
					}
					if _, err := s.GetGroup(ctx, g.ID); !errors.Is(err, resource.ErrNotFound) {
						t.Errorf("group written although refused: %v", err)
					}
					if n := groupsInUse(t, s, "p1"); n != 0 {
						t.Errorf("groups in use = %d after a refusal", n)
					}
					if got := allocatedOr0(t, s, pool); got != before {
						t.Errorf("allocated = %d after a refusal, want %d", got, before)
					}
					msg := &resource.Message{ProjectID: "p1", ResourceType: resource.MessageResourceGroup, ResourceUUID: g.ID,
						ActionID: resource.ActionUnknown, DetailID: resource.DetailNoBackendAvailable, Detail: "no room"}
					if err := s.CreateGroupInError(ctx, g, members, msg); err != nil {
						t.Fatal(err)
					}
					if got, err := s.GetGroup(ctx, g.ID); err != nil || got.Status != resource.GroupStatusError {
						t.Errorf("group after CreateGroupInError = %+v, %v", got, err)
					}
					for _, m := range members {
						if v := getVol(t, s, m.ID); v.Status != resource.StatusError || v.GroupID != g.ID || claimedGB(t, s, m.ID) != 0 {
							t.Errorf("member %s = %s in %q claiming %d", m.ID, v.Status, v.GroupID, claimedGB(t, s, m.ID))
						}
					}
					if got := allocatedOr0(t, s, pool); got != before {
						t.Errorf("allocated = %d after CreateGroupInError, want %d", got, before)
					}
					ms, err := s.ListMessages(ctx, resource.MessageFilter{ProjectID: "p1", Fields: map[string]string{"resource_uuid": g.ID}})
					if err != nil || len(ms) != 1 {
						t.Errorf("messages of the group = %v, %v", ms, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := allocated(t, s, pool); got != before+int64(total) {
					t.Errorf("allocated = %d, want %d", got, before+int64(total))
				}
				for i, m := range members {
					v := getVol(t, s, m.ID)
					if v.EncryptionKeyID != fmt.Sprintf("key-%d", i) || claimedGB(t, s, m.ID) != m.Size {
						t.Errorf("member %d: key %q, claim %d", i, v.EncryptionKeyID, claimedGB(t, s, m.ID))
					}
				}
				// A member that fails gives its claim back; one deleted too.
				if _, err := s.TransitionVolume(ctx, members[0].ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
					t.Fatal(err)
				}
				if got := allocated(t, s, pool); got != before+int64(total-members[0].Size) {
					t.Errorf("allocated after a member failed = %d, want %d", got, before+int64(total-members[0].Size))
				}
				if len(members) > 1 {
					if err := s.DestroyVolume(ctx, members[1].ID, []string{resource.StatusCreating}); err != nil {
						t.Fatal(err)
					}
					if got := allocated(t, s, pool); got != before+int64(total-members[0].Size-members[1].Size) {
						t.Errorf("allocated after a member was deleted = %d", got)
					}
				}
			})
		})
	}
}

func allocatedOr0(t testing.TB, s *Store, pool string) int64 {
	t.Helper()
	p, err := s.GetPool(context.Background(), pool)
	if errors.Is(err, resource.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.AllocatedGB
}

// TestUpdateGroupNameMakesAvailable: as Cinder's group update of name or description only,
// the group becomes available whatever its status.
func TestUpdateGroupNameMakesAvailable(t *testing.T) {
	for _, status := range []string{resource.GroupStatusAvailable, resource.GroupStatusError, resource.GroupStatusCreating} {
		t.Run(status, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				gt := insertGroupType(t, s, "gt", nil)
				g := newGroup(t, s, "p1", gt, func(g *resource.Group) { g.Status = status })
				name := "renamed"
				got, err := s.UpdateGroup(context.Background(), g.ID, &name, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != resource.GroupStatusAvailable || got.Name != name {
					t.Errorf("after rename: status %q name %q, want available, %q", got.Status, got.Name, name)
				}
			})
		})
	}
}

// TestFailGroupCreate: a group whose create failed goes to error with its creating members,
// whose claims go back to their pool, in one transaction; a group no longer creating is left
// alone (resource.ErrInvalidState), members and claims included.
func TestFailGroupCreate(t *testing.T) {
	for _, c := range []struct {
		name, status string
		wantErr      error
	}{
		{"creating", resource.GroupStatusCreating, nil},
		{"already available", resource.GroupStatusAvailable, resource.ErrInvalidState},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				const pool = "h@b#p"
				mustUpsert(t, s, poolCap(pool, 100))
				gt := insertGroupType(t, s, "gt", nil)
				g := &resource.Group{ProjectID: "p1", UserID: "u", AvailabilityZone: "nova", GroupTypeID: gt, Host: pool,
					VolumeTypeIDs: []string{DefaultVolumeTypeID}, Status: c.status}
				var members []*resource.Volume
				for _, size := range []int{3, 4} {
					members = append(members, volume("p1", func(v *resource.Volume) {
						v.Status, v.Host, v.Size, v.SourceVolID = resource.StatusCreating, pool, size, uuid.NewString()
					}))
				}
				if _, err := s.CreateGroup(ctx, g, members); err != nil {
					t.Fatal(err)
				}
				msg := &resource.Message{ProjectID: "p1", ResourceType: resource.MessageResourceGroup, ResourceUUID: g.ID,
					ActionID: resource.ActionUnknown, DetailID: resource.DetailUnknownError, Detail: "refused"}
				err := s.FailGroupCreate(ctx, g.ID, msg)
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("FailGroupCreate = %v, want %v", err, c.wantErr)
					}
					if got := allocated(t, s, pool); got != 7 {
						t.Errorf("allocated %d after a refused fail, want 7", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := s.GetGroup(ctx, g.ID); got.Status != resource.GroupStatusError {
					t.Errorf("group %s, want error", got.Status)
				}
				for _, m := range members {
					if v := getVol(t, s, m.ID); v.Status != resource.StatusError || claimedGB(t, s, m.ID) != 0 {
						t.Errorf("member %s: %s claiming %d", m.ID, v.Status, claimedGB(t, s, m.ID))
					}
				}
				if got := allocated(t, s, pool); got != 0 {
					t.Errorf("allocated %d, want 0", got)
				}
				ms, err := s.ListMessages(ctx, resource.MessageFilter{ProjectID: "p1", Fields: map[string]string{"resource_uuid": g.ID}})
				if err != nil || len(ms) != 1 {
					t.Errorf("messages %v, %v", ms, err)
				}
			})
		})
	}
}
