package db

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// TestPoolOperations: the supported operations of a report round-trip through pools.operations
// — a list, an empty list (none) and nil (unknown, NULL) — and a pool without a row is unknown.
func TestPoolOperations(t *testing.T) {
	all := []string{resource.OpSnapshot, resource.OpCreateFromSnapshot, resource.OpClone, resource.OpExtend, resource.OpRevert}
	tests := []struct {
		name      string
		ops       []string
		wantOps   []string
		wantKnown bool
	}{
		{name: "all five", ops: all, wantOps: all, wantKnown: true},
		{name: "some", ops: []string{resource.OpExtend, resource.OpClone}, wantOps: []string{resource.OpExtend, resource.OpClone}, wantKnown: true},
		{name: "none", ops: []string{}, wantOps: []string{}, wantKnown: true},
		{name: "unknown", ops: nil, wantOps: nil, wantKnown: false},
	}
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				name := "h@" + tc.name[:4] + "#p"
				mustUpsert(t, s, poolCap(name, 100, func(p *resource.PoolCapacity) { p.Operations = tc.ops }))
				ops, known, err := s.PoolOperations(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if known != tc.wantKnown || !slices.Equal(ops, tc.wantOps) || (ops == nil) != (tc.wantOps == nil) {
					t.Errorf("PoolOperations = %#v, %v; want %#v, %v", ops, known, tc.wantOps, tc.wantKnown)
				}
				p, err := s.GetPool(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(p.Operations, tc.wantOps) || (p.Operations == nil) != (tc.wantOps == nil) {
					t.Errorf("GetPool operations = %#v, want %#v", p.Operations, tc.wantOps)
				}
			})
		}
		t.Run("no pool row", func(t *testing.T) {
			ops, known, err := s.PoolOperations(ctx, "nowhere@x#p")
			if err != nil || known || ops != nil {
				t.Errorf("PoolOperations of a pool without a row = %v, %v, %v; want unknown", ops, known, err)
			}
		})
		t.Run("a newer report changes them, an older one does not", func(t *testing.T) {
			name := "h@order#p"
			at := time.Now().UTC().Truncate(time.Microsecond)
			report := func(when time.Time, ops []string) {
				mustUpsert(t, s, poolCap(name, 100, func(p *resource.PoolCapacity) { p.Operations, p.ReportedAt = ops, when }))
			}
			check := func(wantOps []string, wantKnown bool) {
				t.Helper()
				ops, known, err := s.PoolOperations(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if known != wantKnown || !slices.Equal(ops, wantOps) {
					t.Errorf("PoolOperations = %v, %v; want %v, %v", ops, known, wantOps, wantKnown)
				}
			}
			report(at, all)
			report(at.Add(time.Second), []string{resource.OpExtend})
			check([]string{resource.OpExtend}, true)
			report(at, all) // late
			check([]string{resource.OpExtend}, true)
			report(at.Add(2*time.Second), nil) // a service that no longer says
			check(nil, false)
		})
	})
}
