package db

import (
	"context"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func TestServices(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		register := func(binary, host, az string) *resource.Service {
			t.Helper()
			svc, err := s.RegisterService(ctx, &resource.Service{Binary: binary, Host: host, Topic: binary, AvailabilityZone: az})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		start := time.Now().UTC().Add(-time.Second)
		sched := register(resource.BinaryScheduler, "node1", "nova")
		vol1 := register(resource.BinaryVolume, "node1@lvm", "nova")
		vol2 := register(resource.BinaryVolume, "node1@nfs", "az2")
		if sched.ID == 0 || vol1.ID <= sched.ID || vol2.ID <= vol1.ID {
			t.Fatalf("ids %d %d %d, want increasing", sched.ID, vol1.ID, vol2.ID)
		}
		if vol1.CreatedAt.Before(start) || vol1.UpdatedAt == nil || vol1.ReportCount != 0 || vol1.Disabled {
			t.Errorf("new service = %+v", vol1)
		}

		t.Run("restart keeps the row", func(t *testing.T) {
			if _, err := s.db.Exec("UPDATE services SET disabled = 1, disabled_reason = 'maintenance' WHERE id = ?", vol1.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.ServiceHeartbeat(ctx, vol1.ID); err != nil {
				t.Fatal(err)
			}
			again := register(resource.BinaryVolume, "node1@lvm", "az9")
			if again.ID != vol1.ID || !again.Disabled || again.DisabledReason != "maintenance" || again.AvailabilityZone != "az9" || again.ReportCount != 1 || !again.CreatedAt.Equal(vol1.CreatedAt) {
				t.Errorf("re-registered service = %+v, want row %d kept, disabled, zone az9, one report", again, vol1.ID)
			}
		})

		t.Run("heartbeat", func(t *testing.T) {
			for range 3 {
				if err := s.ServiceHeartbeat(ctx, vol2.ID); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.ListServices(ctx, resource.ServiceFilter{Host: "node1@nfs"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ReportCount != 3 || got[0].UpdatedAt.Before(*vol2.UpdatedAt) {
				t.Errorf("after 3 heartbeats: %+v", got)
			}
			wantNotFound(t, s.ServiceHeartbeat(ctx, 99999), "Service", "99999")
		})

		t.Run("list", func(t *testing.T) {
			tests := []struct {
				f    resource.ServiceFilter
				want []int64
			}{
				{resource.ServiceFilter{}, []int64{sched.ID, vol1.ID, vol2.ID}},
				{resource.ServiceFilter{Binary: resource.BinaryVolume}, []int64{vol1.ID, vol2.ID}},
				{resource.ServiceFilter{Binary: resource.BinaryVolume, Host: "node1@lvm"}, []int64{vol1.ID}},
				{resource.ServiceFilter{Host: "node1"}, []int64{sched.ID}},
				{resource.ServiceFilter{Binary: "cinder-backup"}, nil},
			}
			for _, tt := range tests {
				got, err := s.ListServices(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []int64
				for _, svc := range got {
					gotIDs = append(gotIDs, svc.ID)
				}
				if len(gotIDs) != len(tt.want) {
					t.Errorf("ListServices(%+v) = %v, want %v", tt.f, gotIDs, tt.want)
					continue
				}
				for i := range gotIDs {
					if gotIDs[i] != tt.want[i] {
						t.Errorf("ListServices(%+v) = %v, want %v", tt.f, gotIDs, tt.want)
						break
					}
				}
			}
		})

		t.Run("concurrent registration of one service", func(t *testing.T) {
			done := make(chan *resource.Service, 10)
			for range 10 {
				go func() {
					svc, err := s.RegisterService(ctx, &resource.Service{Binary: resource.BinaryVolume, Host: "race@lvm", Topic: "t", AvailabilityZone: "nova"})
					if err != nil {
						t.Error(err)
					}
					done <- svc
				}()
			}
			var first *resource.Service
			for range 10 {
				svc := <-done
				if svc == nil {
					continue
				}
				if first == nil {
					first = svc
				} else if svc.ID != first.ID {
					t.Errorf("registrations got ids %d and %d, want one row", first.ID, svc.ID)
				}
			}
		})
	})
}
