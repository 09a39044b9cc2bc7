package transfers

import (
	"slices"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/resource"
)

// The endpoints are tested through the API's router (internal/api's transfers_test.go and
// transfers_list_test.go); these tests check the body checks and the list's paging alone.

func TestParseTransferCreate(t *testing.T) {
	const vol = "6b1f3c1e-aaaa-4bbb-8ccc-000000000001"
	v354, v355 := wire.Version{Major: 3, Minor: 54}, WithSnapshots
	tests := []struct {
		name      string
		body      string
		mv        wire.Version
		want      resource.Transfer
		wantFault string
	}{
		{name: "volume only", body: `{"transfer": {"volume_id": "` + vol + `"}}`, mv: v354, want: resource.Transfer{VolumeID: vol}},
		{name: "name stripped", body: `{"transfer": {"volume_id": "` + vol + `", "name": " t1 "}}`, mv: v354,
			want: resource.Transfer{VolumeID: vol, Name: "t1"}},
		{name: "no_snapshots from 3.55", body: `{"transfer": {"volume_id": "` + vol + `", "no_snapshots": true}}`, mv: v355,
			want: resource.Transfer{VolumeID: vol, NoSnapshots: true}},
		{name: "no_snapshots before 3.55", body: `{"transfer": {"volume_id": "` + vol + `", "no_snapshots": true}}`, mv: v354,
			wantFault: "Invalid input for field/attribute transfer. Value: {'volume_id': '" + vol + "', 'no_snapshots': True}. Additional properties are not allowed ('no_snapshots' was unexpected)"},
		{name: "no volume", body: `{"transfer": {}}`, mv: v354,
			wantFault: "Invalid input for field/attribute transfer. Value: {}. 'volume_id' is a required property"},
		{name: "not a uuid", body: `{"transfer": {"volume_id": "x"}}`, mv: v354,
			wantFault: "Invalid input for field/attribute transfer/volume_id. Value: x. 'x' is not a 'uuid'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := wire.DecodeJSON([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, f := parseTransferCreate(body, tc.mv)
			if tc.wantFault != "" {
				if f == nil || f.Message != tc.wantFault {
					t.Fatalf("fault = %v, want %q", f, tc.wantFault)
				}
				return
			}
			if f != nil {
				t.Fatalf("unexpected fault %v", f)
			}
			if *got != tc.want {
				t.Errorf("transfer = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestTransferPageApply(t *testing.T) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	list := []*resource.Transfer{
		{ID: "t1", Name: "b", CreatedAt: base},
		{ID: "t2", Name: "a", CreatedAt: base.Add(time.Minute)},
		{ID: "t3", Name: "c", CreatedAt: base.Add(2 * time.Minute)},
	}
	oldestFirst := []resource.SortKey{{Field: "created_at"}, {Field: "id"}}
	tests := []struct {
		name     string
		page     transferPage
		want     []string
		wantFull bool
		wantErr  bool
	}{
		{name: "oldest first", page: transferPage{sort: oldestFirst, limit: 10}, want: []string{"t1", "t2", "t3"}},
		{name: "limit and offset", page: transferPage{sort: oldestFirst, limit: 1, offset: 1}, want: []string{"t2"}, wantFull: true},
		{name: "by name", page: transferPage{sort: []resource.SortKey{{Field: "display_name"}}, limit: 10}, want: []string{"t2", "t1", "t3"}},
		{name: "marker", page: transferPage{sort: oldestFirst, limit: 10, marker: "t1"}, want: []string{"t2", "t3"}},
		{name: "unknown marker", page: transferPage{sort: oldestFirst, limit: 10, marker: "t9"}, wantErr: true},
		{name: "filter", page: transferPage{sort: oldestFirst, limit: 10, filters: map[string]string{"display_name": "c"}}, want: []string{"t3"}},
		{name: "like name", page: transferPage{sort: oldestFirst, limit: 10, likeName: "A"}, want: []string{"t2"}},
		{name: "filter on what transfers lack", page: transferPage{sort: oldestFirst, limit: 10, empty: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, full, err := tc.page.apply(list)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tr := range got {
				ids = append(ids, tr.ID)
			}
			if !slices.Equal(ids, tc.want) || full != tc.wantFull {
				t.Errorf("got %v full=%v, want %v full=%v", ids, full, tc.want, tc.wantFull)
			}
		})
	}
}
