package messages

import (
	"maps"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/resource"
)

// TestParseMessageListParams checks the 3.5 list query alone; the endpoints themselves are
// tested through the API's router (internal/api's messages_test.go).
func TestParseMessageListParams(t *testing.T) {
	const maxLimit = 1000
	tests := []struct {
		name       string
		query      string
		wantFault  string // the fault's message, "" for none
		wantLimit  int
		wantMarker string
		wantFields map[string]string
	}{
		{name: "empty", query: "", wantLimit: maxLimit},
		{name: "limit", query: "limit=5", wantLimit: 5},
		{name: "limit capped", query: "limit=5000", wantLimit: maxLimit},
		{name: "limit not a number", query: "limit=x", wantFault: "limit param must be an integer"},
		{name: "limit negative", query: "limit=-1", wantFault: "limit param must be positive"},
		{name: "filters", query: "event_id=VOLUME_000002&resource_type=VOLUME", wantLimit: maxLimit,
			wantFields: map[string]string{"event_id": "VOLUME_000002", "resource_type": "VOLUME"}},
		{name: "unknown filters sorted", query: "zz=1&aa=2&zz=3", wantFault: "Invalid filters aa,zz are found in query options."},
		{name: "marker", query: "marker=6b1f3c1e-aaaa-4bbb-8ccc-000000000001", wantLimit: maxLimit,
			wantMarker: "6b1f3c1e-aaaa-4bbb-8ccc-000000000001"},
		{name: "marker not a uuid", query: "marker=nope", wantFault: "Message nope could not be found."},
		{name: "sort newest first", query: "sort=created_at:desc", wantLimit: maxLimit},
		{name: "sort key and dir", query: "sort_key=created_at&sort_dir=DESC", wantLimit: maxLimit},
		{name: "sort other", query: "sort=created_at:asc",
			wantFault: "Sorting messages by created_at:asc is not supported by Scoria yet; messages are listed newest first (sort=created_at:desc)."},
		{name: "sort with sort_key", query: "sort=created_at&sort_key=id",
			wantFault: "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, f := wire.ParseQuery(tc.query)
			if f != nil {
				t.Fatalf("ParseQuery(%q): %v", tc.query, f)
			}
			filter := resource.MessageFilter{Limit: maxLimit}
			f = parseMessageListParams(q, &filter, maxLimit)
			if tc.wantFault != "" {
				if f == nil || f.Message != tc.wantFault {
					t.Fatalf("fault = %v, want %q", f, tc.wantFault)
				}
				return
			}
			if f != nil {
				t.Fatalf("unexpected fault %v", f)
			}
			if filter.Limit != tc.wantLimit || filter.Marker != tc.wantMarker || !maps.Equal(filter.Fields, tc.wantFields) {
				t.Errorf("filter = %+v, want limit %d, marker %q, fields %v", filter, tc.wantLimit, tc.wantMarker, tc.wantFields)
			}
		})
	}
}
