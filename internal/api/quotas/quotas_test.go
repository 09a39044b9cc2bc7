package quotas

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/resource"
)

// The endpoints are tested through the API's router (internal/api's quotas_test.go); these
// tests check the body rendering and the update's checks alone.

func TestQuotaBody(t *testing.T) {
	qs := resource.QuotaSet{
		{Resource: "volumes", Limit: 10, InUse: 2, Reserved: 1},
		{Resource: "gigabytes", Limit: -1},
	}
	tests := []struct {
		name  string
		key   string
		usage bool
		id    string
		want  string
	}{
		{name: "limits with id", key: "quota_set", id: "p1",
			want: `{"quota_set":{"volumes":10,"gigabytes":-1,"id":"p1"}}`},
		{name: "usage", key: "quota_set", usage: true, id: "p1",
			want: `{"quota_set":{"volumes":{"limit":10,"in_use":2,"reserved":1},"gigabytes":{"limit":-1,"in_use":0,"reserved":0},"id":"p1"}}`},
		{name: "class without id", key: "quota_class_set",
			want: `{"quota_class_set":{"volumes":10,"gigabytes":-1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(quotaBody(tc.key, qs, tc.usage, tc.id))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestQuotaLimits(t *testing.T) {
	current := resource.QuotaSet{{Resource: "volumes", Limit: 10}, {Resource: "gigabytes", Limit: 1000}}
	tests := []struct {
		name      string
		body      string
		ignore    []string
		want      map[string]int64
		wantFault string
	}{
		{name: "integers and strings", body: `{"volumes": 5, "gigabytes": " 20 "}`, want: map[string]int64{"volumes": 5, "gigabytes": 20}},
		{name: "unlimited", body: `{"volumes": -1}`, want: map[string]int64{"volumes": -1}},
		{name: "ignored keys", body: `{"id": "x", "volumes": 1}`, ignore: []string{"id"}, want: map[string]int64{"volumes": 1}},
		{name: "float", body: `{"volumes": 1.0}`, wantFault: "volumes must be an integer"},
		{name: "bool", body: `{"volumes": true}`, wantFault: "volumes must be an integer"},
		{name: "below -1", body: `{"volumes": -2}`, wantFault: "volumes must be >= -1"},
		{name: "too big", body: `{"volumes": 2147483648}`, wantFault: "volumes must be <= 2147483647"},
		{name: "unknown keys named together", body: `{"foo": 1, "volumes": 1, "bar": 2}`, wantFault: "Invalid input received: Bad key(s) in quota set: foo, bar"},
		{name: "a bad value first", body: `{"foo": 1, "volumes": "x"}`, wantFault: "volumes must be an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := wire.DecodeJSON([]byte(`{"quota_set": ` + tc.body + `}`))
			if err != nil {
				t.Fatal(err)
			}
			set, f := quotaSetBody(body, "quota_set")
			if f != nil {
				t.Fatal(f)
			}
			got, f := quotaLimits(set, current, "quota set", tc.ignore)
			if tc.wantFault != "" {
				if f == nil || f.Message != tc.wantFault {
					t.Fatalf("fault = %v, want %q", f, tc.wantFault)
				}
				return
			}
			if f != nil {
				t.Fatalf("unexpected fault %v", f)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("limits = %v, want %v", got, tc.want)
			}
		})
	}
}
