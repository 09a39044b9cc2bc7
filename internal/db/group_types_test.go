package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// TestDefaultCGSnapshotTypeSeeded: the migrations create Cinder's default_cgsnapshot_type
// with its consistent snapshot spec, under its fixed id.
func TestDefaultCGSnapshotTypeSeeded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		byName, err := s.GetGroupTypeByName(ctx, resource.DefaultCGSnapshotTypeName)
		if err != nil {
			t.Fatal(err)
		}
		byID, err := s.GetGroupType(ctx, DefaultCGSnapshotTypeID)
		if err != nil {
			t.Fatal(err)
		}
		for _, gt := range []*resource.GroupType{byName, byID} {
			if gt.ID != DefaultCGSnapshotTypeID || gt.Name != resource.DefaultCGSnapshotTypeName || !gt.IsPublic ||
				gt.GroupSpecs[resource.ConsistentGroupSnapshotSpec] != "<is> True" || len(gt.GroupSpecs) != 1 ||
				gt.Description != "Default group type for migrating cgsnapshot" || gt.CreatedAt.IsZero() {
				t.Errorf("seeded type: %+v", gt)
			}
		}
	})
}

func TestGroupTypeLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gold := &resource.GroupType{ID: "22222222-0000-0000-0000-000000000001", Name: "gold", IsPublic: true, GroupSpecs: map[string]string{"a": "1"}}
		if err := s.CreateGroupType(ctx, gold); err != nil {
			t.Fatal(err)
		}
		dup := &resource.GroupType{ID: "22222222-0000-0000-0000-000000000002", Name: "gold", IsPublic: true}
		if err := s.CreateGroupType(ctx, dup); !errors.Is(err, resource.ErrGroupTypeExists) {
			t.Fatalf("duplicate create: %v", err)
		}
		priv := &resource.GroupType{ID: "22222222-0000-0000-0000-000000000003", Name: "priv", Description: "private"}
		if err := s.CreateGroupType(ctx, priv); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupTypeAccess(ctx, priv.ID, "p2"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupTypeAccess(ctx, priv.ID, "p2"); !errors.Is(err, resource.ErrGroupTypeAccessExists) {
			t.Fatalf("second access: %v", err)
		}
		if err := s.AddGroupTypeAccess(ctx, "nope", "p2"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("access to unknown type: %v", err)
		}
		for _, tc := range []struct {
			project string
			want    bool
		}{{"p2", true}, {"p3", false}} {
			if got, err := s.HasGroupTypeAccess(ctx, priv.ID, tc.project); err != nil || got != tc.want {
				t.Errorf("access of %s: %v, %v; want %v", tc.project, got, err, tc.want)
			}
		}

		yes, no := true, false
		names := func(ts []*resource.GroupType) []string {
			out := make([]string, len(ts))
			for i, t := range ts {
				out[i] = t.Name
			}
			return out
		}
		byName := []resource.SortKey{{Field: "name"}}
		tests := []struct {
			name string
			f    resource.GroupTypeFilter
			want []string
		}{
			{"all by name", resource.GroupTypeFilter{Sort: byName}, []string{"default_cgsnapshot_type", "gold", "priv"}},
			{"all by name desc", resource.GroupTypeFilter{Sort: []resource.SortKey{{Field: "name", Desc: true}}}, []string{"priv", "gold", "default_cgsnapshot_type"}},
			{"newest first", resource.GroupTypeFilter{}, []string{"priv", "gold", "default_cgsnapshot_type"}},
			{"public", resource.GroupTypeFilter{IsPublic: &yes, Sort: byName}, []string{"default_cgsnapshot_type", "gold"}},
			{"private", resource.GroupTypeFilter{IsPublic: &no, Sort: byName}, []string{"priv"}},
			{"public for p2", resource.GroupTypeFilter{IsPublic: &yes, AccessProject: "p2", Sort: byName}, []string{"default_cgsnapshot_type", "gold", "priv"}},
			{"public for p3", resource.GroupTypeFilter{IsPublic: &yes, AccessProject: "p3", Sort: byName}, []string{"default_cgsnapshot_type", "gold"}},
			{"limit", resource.GroupTypeFilter{Sort: byName, Limit: 1}, []string{"default_cgsnapshot_type"}},
			{"after marker", resource.GroupTypeFilter{Sort: byName, Marker: gold.ID}, []string{"priv"}},
			{"unknown marker ignored", resource.GroupTypeFilter{Sort: byName, Marker: "nope", Limit: 1}, []string{"default_cgsnapshot_type"}},
			{"offset", resource.GroupTypeFilter{Sort: byName, Offset: 1, Limit: 1}, []string{"gold"}},
			{"offset past the end", resource.GroupTypeFilter{Sort: byName, Offset: 9}, []string{}},
		}
		for _, tc := range tests {
			got, err := s.ListGroupTypes(ctx, tc.f)
			if err != nil || !slices.Equal(names(got), tc.want) {
				t.Errorf("%s: %v, %v; want %v", tc.name, names(got), err, tc.want)
			}
		}
		if _, err := s.ListGroupTypes(ctx, resource.GroupTypeFilter{Sort: []resource.SortKey{{Field: "name; DROP TABLE x"}}}); err == nil {
			t.Errorf("bad sort key accepted")
		}
		all, err := s.ListGroupTypes(ctx, resource.GroupTypeFilter{Sort: byName})
		if err != nil || len(all) != 3 || all[1].GroupSpecs["a"] != "1" || all[2].GroupSpecs == nil || all[2].Description != "private" {
			t.Fatalf("list with specs: %v %v", all, err)
		}

		// Specs.
		if err := s.SetGroupTypeSpecs(ctx, gold.ID, map[string]string{"a": "2", "b": "3"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGroupTypeSpecs(ctx, "nope", map[string]string{"a": "2"}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("specs of an unknown type: %v", err)
		}
		if err := s.DeleteGroupTypeSpec(ctx, gold.ID, "b"); err != nil {
			t.Fatal(err)
		}
		var nf *resource.NotFoundError
		if err := s.DeleteGroupTypeSpec(ctx, gold.ID, "b"); !errors.As(err, &nf) || nf.Kind != "GroupTypeSpec" {
			t.Errorf("delete of a missing spec: %v", err)
		}
		if err := s.DeleteGroupTypeSpec(ctx, "nope", "a"); !errors.As(err, &nf) || nf.Kind != "GroupType" {
			t.Errorf("delete of a spec of an unknown type: %v", err)
		}
		got, err := s.GetGroupType(ctx, gold.ID)
		if err != nil || len(got.GroupSpecs) != 1 || got.GroupSpecs["a"] != "2" {
			t.Errorf("specs after changes: %+v, %v", got, err)
		}

		// Update.
		newName, desc := "platinum", "shiny"
		if got, err := s.UpdateGroupType(ctx, gold.ID, resource.GroupTypeUpdate{Name: &newName, Description: &desc, IsPublic: &no}); err != nil ||
			got.Name != newName || got.Description != desc || got.IsPublic || got.UpdatedAt == nil || got.GroupSpecs["a"] != "2" {
			t.Errorf("update: %+v, %v", got, err)
		}
		taken := "priv"
		if _, err := s.UpdateGroupType(ctx, gold.ID, resource.GroupTypeUpdate{Name: &taken}); !errors.Is(err, resource.ErrGroupTypeExists) {
			t.Errorf("rename to a taken name: %v", err)
		}
		if _, err := s.UpdateGroupType(ctx, "nope", resource.GroupTypeUpdate{Description: &desc}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("update of an unknown type: %v", err)
		}

		// Delete: a live group keeps its type; a deleted group does not.
		insertGroup(t, s, "33333333-0000-0000-0000-000000000001", priv.ID)
		if err := s.DeleteGroupType(ctx, priv.ID); !errors.Is(err, resource.ErrGroupTypeInUse) {
			t.Fatalf("delete of a type in use: %v", err)
		}
		if _, err := s.db.ExecContext(ctx, "UPDATE `groups` SET deleted = 1 WHERE id = ?", "33333333-0000-0000-0000-000000000001"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroupType(ctx, priv.ID); err != nil {
			t.Fatalf("delete of a type whose group is deleted: %v", err)
		}
		if err := s.DeleteGroupType(ctx, priv.ID); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		for _, get := range []func() error{
			func() error { _, err := s.GetGroupType(ctx, priv.ID); return err },
			func() error { _, err := s.GetGroupTypeByName(ctx, "priv"); return err },
			func() error {
				_, err := s.UpdateGroupType(ctx, priv.ID, resource.GroupTypeUpdate{Description: &desc})
				return err
			},
			func() error { return s.SetGroupTypeSpecs(ctx, priv.ID, map[string]string{"x": "y"}) },
		} {
			if err := get(); !errors.As(err, &nf) || nf.Kind != "GroupType" {
				t.Errorf("deleted type: %v", err)
			}
		}
		if ok, err := s.HasGroupTypeAccess(ctx, priv.ID, "p2"); ok || err != nil {
			t.Errorf("access survived the delete: %v %v", ok, err)
		}
		// The name of a deleted type is free again.
		again := &resource.GroupType{ID: "22222222-0000-0000-0000-000000000004", Name: "priv", IsPublic: true}
		if err := s.CreateGroupType(ctx, again); err != nil {
			t.Fatalf("create with a deleted type's name: %v", err)
		}
		if got, err := s.GetGroupTypeByName(ctx, "priv"); err != nil || got.ID != again.ID {
			t.Errorf("by name after re-create: %+v, %v", got, err)
		}
	})
}

// TestGroupTypeNameRace: of concurrent creates of one name, exactly one wins; the others are
// resource.ErrGroupTypeExists.
func TestGroupTypeNameRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.CreateGroupType(ctx, &resource.GroupType{ID: fmt.Sprintf("44444444-0000-0000-0000-%012d", i), Name: "race", IsPublic: true})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, resource.ErrGroupTypeExists):
				t.Errorf("create: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d creates of one name won, want 1", won)
		}
	})
}

// insertGroup writes a bare group of group type typeID.
func insertGroup(t *testing.T, s *Store, id, typeID string) {
	t.Helper()
	if _, err := s.db.ExecContext(context.Background(),
		"INSERT INTO `groups` (id, project_id, user_id, availability_zone, group_type_id, status, created_at, deleted) VALUES (?, 'p1', 'u1', 'nova', ?, 'available', ?, 0)",
		id, typeID, dbTime(s.now())); err != nil {
		t.Fatal(err)
	}
}
