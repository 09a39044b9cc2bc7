package db

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func userMessage(project, volumeID string) *resource.Message {
	return &resource.Message{
		ProjectID: project, RequestID: "req-" + volumeID, ResourceType: "VOLUME", ResourceUUID: volumeID,
		ActionID: "001", DetailID: "003", Detail: "No valid backend: 0/1 pools fit — 1 lacks capacity",
	}
}

func messageIDs(ms []*resource.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestMessages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		before := time.Now().UTC().Add(-time.Second)
		var p1 []string // newest first
		for i := range 3 {
			m := userMessage("p1", "vol"+string(rune('a'+i)))
			if err := s.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			p1 = append([]string{m.ID}, p1...)
		}
		other := userMessage("p2", "volz")
		if err := s.CreateMessage(ctx, other); err != nil {
			t.Fatal(err)
		}

		got, err := s.GetMessage(ctx, p1[0], "p1")
		if err != nil {
			t.Fatal(err)
		}
		if got.EventID != "VOLUME_VOLUME_001_003" || got.Level != "ERROR" || got.RequestID != "req-volc" ||
			got.ResourceUUID != "volc" || got.Detail == "" || got.CreatedAt.Before(before) ||
			got.ExpiresAt.Sub(got.CreatedAt) != DefaultMessageTTL {
			t.Errorf("GetMessage = %+v", got)
		}
		_, err = s.GetMessage(ctx, other.ID, "p1")
		wantNotFound(t, err, "Message", other.ID)
		if _, err := s.GetMessage(ctx, other.ID, ""); err != nil {
			t.Errorf("GetMessage of any project: %v", err)
		}

		tests := []struct {
			name string
			f    resource.MessageFilter
			want []string
		}{
			{"project", resource.MessageFilter{ProjectID: "p1"}, p1},
			{"all", resource.MessageFilter{}, append([]string{other.ID}, p1...)},
			{"limit", resource.MessageFilter{ProjectID: "p1", Limit: 2}, p1[:2]},
			{"marker", resource.MessageFilter{ProjectID: "p1", Marker: p1[0]}, p1[1:]},
			{"marker and limit", resource.MessageFilter{ProjectID: "p1", Marker: p1[0], Limit: 1}, p1[1:2]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ms, err := s.ListMessages(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := messageIDs(ms); !slices.Equal(got, tt.want) {
					t.Errorf("ListMessages(%+v) = %v, want %v", tt.f, got, tt.want)
				}
			})
		}
		_, err = s.ListMessages(ctx, resource.MessageFilter{ProjectID: "p1", Marker: other.ID})
		wantNotFound(t, err, "Marker", other.ID)

		wantNotFound(t, s.DeleteMessage(ctx, other.ID, "p1"), "Message", other.ID)
		if err := s.DeleteMessage(ctx, p1[0], "p1"); err != nil {
			t.Fatal(err)
		}
		wantNotFound(t, s.DeleteMessage(ctx, p1[0], "p1"), "Message", p1[0])
		_, err = s.GetMessage(ctx, p1[0], "")
		wantNotFound(t, err, "Message", p1[0])
	})
}

func TestTransitionVolumeWritesMessage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p1", func(v *resource.Volume) { v.Status = resource.StatusCreating })
		mustCreate(t, s, v)
		m := userMessage("p1", v.ID)
		ch := resource.VolumeChange{Status: resource.StatusError, Message: m}
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMessage(ctx, m.ID, "p1")
		if err != nil || got.ResourceUUID != v.ID {
			t.Fatalf("GetMessage = %+v, %v", got, err)
		}
		// A transition that loses writes no message.
		lost := userMessage("p1", v.ID)
		ch.Message = lost
		_, err = s.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch)
		wantInvalidState(t, err, v.ID, resource.StatusError)
		if n := countRows(t, s, "messages"); n != 1 {
			t.Errorf("messages has %d rows, want 1", n)
		}
	})
}

func TestPurgeExpiredMessages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		expired := userMessage("p1", "vola")
		expired.ExpiresAt = now.Add(-time.Minute)
		live := userMessage("p1", "volb")
		for _, m := range []*resource.Message{expired, live} {
			if err := s.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PurgeExpiredMessages(ctx, now)
		if err != nil || n != 1 {
			t.Fatalf("PurgeExpiredMessages = %d, %v; want 1", n, err)
		}
		got, err := s.ListMessages(ctx, resource.MessageFilter{ProjectID: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		if ids := messageIDs(got); !slices.Equal(ids, []string{live.ID}) {
			t.Errorf("after purge: %v, want only %s", ids, live.ID)
		}
		if n, err := s.PurgeExpiredMessages(ctx, now); err != nil || n != 0 {
			t.Errorf("second purge = %d, %v; want 0", n, err)
		}
	})
}
