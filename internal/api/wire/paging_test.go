package wire

import (
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestParseSort(t *testing.T) {
	column := func(k string) (string, bool) {
		switch k {
		case "name":
			return "display_name", true
		case "id", "created_at":
			return k, true
		}
		return "", false
	}
	tests := []struct {
		name      string
		query     string
		want      []resource.SortKey
		wantFault string
	}{
		{name: "none", query: ""},
		{name: "sort with directions", query: "sort=name:asc,id", want: []resource.SortKey{{Field: "display_name"}, {Field: "id", Desc: true}}},
		{name: "legacy key", query: "sort_key=name", want: []resource.SortKey{{Field: "display_name", Desc: true}}},
		{name: "legacy dir", query: "sort_dir=asc", want: []resource.SortKey{{Field: "created_at"}}},
		{name: "both styles", query: "sort=id&sort_dir=asc",
			wantFault: "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."},
		{name: "bad direction", query: "sort=id:up", wantFault: "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{name: "bad key", query: "sort=size", wantFault: "Invalid input received: Invalid sort key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, f := ParseQuery(tc.query)
			if f != nil {
				t.Fatal(f)
			}
			got, f := ParseSort(q, column)
			if tc.wantFault != "" {
				if f == nil || f.Message != tc.wantFault {
					t.Fatalf("fault = %v, want %q", f, tc.wantFault)
				}
				return
			}
			if f != nil {
				t.Fatalf("unexpected fault %v", f)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("keys = %+v, want %+v", got, tc.want)
			}
		})
	}
}
