package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

func (e *env) addService(binary, host, zone string, disabled bool, reason string, lastSeen time.Duration) {
	e.t.Helper()
	topic := rpc.TopicVolume
	if binary == resource.BinaryScheduler {
		topic = rpc.TopicScheduler
	}
	if _, err := e.store.RegisterService(context.Background(), &resource.Service{
		Binary: binary, Host: host, Topic: topic, AvailabilityZone: zone, Disabled: disabled, DisabledReason: reason,
	}); err != nil {
		e.t.Fatalf("register service: %v", err)
	}
	if lastSeen > 0 {
		at := time.Now().Add(-lastSeen).UTC().Format("2006-01-02 15:04:05.000000")
		if _, err := e.raw.Exec("UPDATE services SET created_at = ?, updated_at = ? WHERE host = ?", at, at, host); err != nil {
			e.t.Fatalf("age service: %v", err)
		}
	}
}

func TestListServices(t *testing.T) {
	e := newEnv(t)
	e.addService(resource.BinaryScheduler, "host1", "nova", false, "", 0)
	e.addService(resource.BinaryVolume, "host1@lvm", "nova", false, "", 0)
	e.addService(resource.BinaryVolume, "host2@lvm", "az2", false, "", 5*time.Minute)
	e.addService(resource.BinaryVolume, "host3@lvm", "nova", true, "maintenance", 0)

	schedulerKeys := []string{"binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"}
	volumeKeys := append(append([]string(nil), schedulerKeys...), "replication_status", "active_backend_id", "frozen")

	t.Run("everything", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/os-services"})
		wantStatus(t, rec, http.StatusOK)
		list := member(t, obj(t, rec), "services").([]any)
		if len(list) != 4 {
			t.Fatalf("%d services, want 4", len(list))
		}
		sameKeys(t, "scheduler", keysOf(t, list[0]), schedulerKeys)
		sameKeys(t, "volume", keysOf(t, list[1]), volumeKeys)
		var got []string
		for _, s := range list {
			got = append(got, strings.Join([]string{str(t, s, "binary"), str(t, s, "host"), str(t, s, "zone"),
				str(t, s, "status"), str(t, s, "state"), wire.PyRepr(member(t, s, "disabled_reason"))}, " "))
			if !timestampPattern.MatchString(str(t, s, "updated_at")) {
				t.Errorf("updated_at %s", wire.PyRepr(member(t, s, "updated_at")))
			}
		}
		want := []string{
			"cinder-scheduler host1 nova enabled up None",
			"cinder-volume host1@lvm nova enabled up None",
			"cinder-volume host2@lvm az2 enabled down None",
			"cinder-volume host3@lvm nova disabled up 'maintenance'",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("services\n got: %v\nwant: %v", got, want)
		}
		if v := list[1]; str(t, v, "replication_status") != "disabled" || member(t, v, "active_backend_id") != nil || member(t, v, "frozen") != false {
			t.Errorf("volume service %s", wire.PyRepr(v))
		}
	})
	for _, tc := range []struct {
		name, query, version string
		hosts                []string
	}{
		{"binary by Cinder's name", "?binary=cinder-volume", "", []string{"host1@lvm", "host2@lvm", "host3@lvm"}},
		{"binary by Scoria's name", "?binary=scoria-scheduler", "", []string{"host1"}},
		{"binary nobody runs", "?binary=cinder-backup", "", nil},
		{"host matches its backends", "?host=host1", "", []string{"host1", "host1@lvm"}},
		{"backend", "?host=host2@lvm", "", []string{"host2@lvm"}},
		{"host and binary", "?host=host1&binary=cinder-volume", "", []string{"host1@lvm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/os-services" + tc.query, version: tc.version})
			wantStatus(t, rec, http.StatusOK)
			var hosts []string
			for _, s := range member(t, obj(t, rec), "services").([]any) {
				hosts = append(hosts, str(t, s, "host"))
			}
			if strings.Join(hosts, ",") != strings.Join(tc.hosts, ",") {
				t.Errorf("hosts %v, want %v", hosts, tc.hosts)
			}
		})
	}
	t.Run("3.49 backend state and cluster", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/os-services", version: "volume 3.49"})
		list := member(t, obj(t, rec), "services").([]any)
		sameKeys(t, "scheduler", keysOf(t, list[0]), []string{"binary", "host", "zone", "status", "state", "updated_at", "cluster", "disabled_reason"})
		sameKeys(t, "volume", keysOf(t, list[1]), []string{"binary", "host", "zone", "status", "state", "updated_at",
			"backend_state", "cluster", "disabled_reason", "replication_status", "active_backend_id", "frozen"})
		for i, want := range []any{nil, "up", nil, nil} {
			if i == 0 {
				continue
			}
			if got := member(t, list[i], "backend_state"); got != want {
				t.Errorf("%s backend_state %s, want %s", str(t, list[i], "host"), wire.PyRepr(got), wire.PyRepr(want))
			}
		}
	})
	t.Run("down once the clock moves on", func(t *testing.T) {
		e.nowOff = 2 * time.Minute
		defer func() { e.nowOff = 0 }()
		rec := e.do(call{method: "GET", path: "/v3/p1/os-services?binary=cinder-scheduler"})
		if got := str(t, obj(t, rec), "services", 0, "state"); got != "down" {
			t.Errorf("state %q, want down", got)
		}
	})
}
