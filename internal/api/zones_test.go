package api

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func TestListAvailabilityZones(t *testing.T) {
	t.Run("shape of Cinder's sample", func(t *testing.T) {
		data, err := os.ReadFile("testdata/os-availability-zone.json")
		if err != nil {
			t.Fatal(err)
		}
		var sample any
		if err := json.Unmarshal(data, &sample); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t)
		e.addService(resource.BinaryVolume, "host1@lvm", "nova", false, "", 0)
		e.addService(resource.BinaryVolume, "host2@lvm", "az2", false, "", 0)
		rec := e.do(call{method: "GET", path: "/v3/p1/os-availability-zone"})
		wantStatus(t, rec, http.StatusOK)
		sameKeys(t, "zone", keysOf(t, member(t, obj(t, rec), "availabilityZoneInfo", 0)), []string{"zoneName", "zoneState"})
		var got any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, sample) {
			t.Errorf("\n got: %s\nwant: %s", rec.Body, data)
		}
	})

	for _, tc := range []struct {
		name     string
		services func(e *env)
		want     string
	}{
		{"no volume service", func(e *env) {
			e.addService(resource.BinaryScheduler, "sched", "nova", false, "", 0)
		}, `{"availabilityZoneInfo":[]}`},
		{"up, disabled, down, mixed", func(e *env) {
			e.addService(resource.BinaryScheduler, "sched", "internal", false, "", 0)
			e.addService(resource.BinaryVolume, "a@lvm", "nova", false, "", 0)
			e.addService(resource.BinaryVolume, "b@lvm", "off", true, "maintenance", 0)
			e.addService(resource.BinaryVolume, "c@lvm", "gone", false, "", 5*time.Minute)
			e.addService(resource.BinaryVolume, "d@lvm", "mixed", false, "", 5*time.Minute)
			e.addService(resource.BinaryVolume, "e@lvm", "mixed", true, "", 0)
			e.addService(resource.BinaryVolume, "f@lvm", "mixed", false, "", 0)
			e.addService(resource.BinaryVolume, "g@lvm", "nova", true, "", 0)
		}, `{"availabilityZoneInfo":[{"zoneName":"nova","zoneState":{"available":true}},` +
			`{"zoneName":"off","zoneState":{"available":false}},{"zoneName":"gone","zoneState":{"available":false}},` +
			`{"zoneName":"mixed","zoneState":{"available":true}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.services(e)
			for _, path := range []string{"/v3/p1/os-availability-zone", "/v3/os-availability-zone"} {
				rec := e.do(call{method: "GET", path: path, token: "someone:p1"})
				wantStatus(t, rec, http.StatusOK)
				if got := rec.Body.String(); got != tc.want {
					t.Errorf("%s\n got: %s\nwant: %s", path, got, tc.want)
				}
			}
		})
	}
}
