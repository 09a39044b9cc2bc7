package db

import (
	"context"
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestListVolumeTypesByExtraSpecs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, vt := range []*resource.VolumeType{
			{ID: "22222222-0000-0000-0000-000000000001", Name: "fast", IsPublic: true,
				ExtraSpecs: map[string]string{"multiattach": "<is> True", "tier": "ssd", resource.AvailabilityZonesSpec: "az1, az2"}},
			{ID: "22222222-0000-0000-0000-000000000002", Name: "slow", IsPublic: true,
				ExtraSpecs: map[string]string{"tier": "hdd"}},
			{ID: "22222222-0000-0000-0000-000000000003", Name: "bare", IsPublic: true},
		} {
			if err := s.CreateVolumeType(ctx, vt); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name  string
			specs map[string]string
			want  []string
		}{
			{"one pair", map[string]string{"tier": "ssd"}, []string{"fast"}},
			{"every pair must hold", map[string]string{"tier": "ssd", "multiattach": "<is> True"}, []string{"fast"}},
			{"one pair of two does not hold", map[string]string{"tier": "hdd", "multiattach": "<is> True"}, nil},
			{"value differs", map[string]string{"tier": "nvme"}, nil},
			{"unknown key", map[string]string{"nope": "ssd"}, nil},
			{"zones match by part", map[string]string{resource.AvailabilityZonesSpec: "az2"}, []string{"fast"}},
			{"zones: no such zone", map[string]string{resource.AvailabilityZonesSpec: "az3"}, nil},
			{"empty filter is no filter", map[string]string{}, []string{"__DEFAULT__", "bare", "fast", "slow"}},
			{"quotes are data", map[string]string{"tier": "' OR 1=1 --"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListVolumeTypes(ctx, resource.VolumeTypeFilter{SortKey: "name", ExtraSpecs: tc.specs})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, vt := range got {
					names = append(names, vt.Name)
				}
				if !slices.Equal(names, tc.want) {
					t.Errorf("types %v, want %v", names, tc.want)
				}
			})
		}
	})
}
