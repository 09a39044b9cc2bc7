package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// addMessage writes a user message as the scheduler does when no backend fits.
func (e *env) addMessage(project, volumeID, reason string) *resource.Message {
	e.t.Helper()
	m := &resource.Message{ProjectID: project, RequestID: "req-7f1a2b3c-0000-4000-8000-000000000001",
		ResourceType: resource.MessageResourceVolume, ResourceUUID: volumeID,
		ActionID: resource.ActionScheduleAllocateVolume, DetailID: resource.DetailNoBackendAvailable, Detail: reason}
	if err := e.store.CreateMessage(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // distinct created_at, so the order is the creation order
	return m
}

const (
	v33 = "volume 3.3"
	v35 = "volume 3.5"
)

func TestMessageShow(t *testing.T) {
	e := newEnv(t)
	const reason = "No valid backend: 0/4 pools fit — 2 in another availability zone (az1), 2 lack capacity"
	m := e.addMessage(testProject, "6b1f3c1e-aaaa-4bbb-8ccc-000000000001", reason)

	rec := e.do(call{method: "GET", path: "/v3/p1/messages/" + m.ID, version: v33})
	wantStatus(t, rec, http.StatusOK)
	body := obj(t, rec)
	sameKeys(t, "message", keysOf(t, member(t, body, "message")), []string{"id", "event_id", "user_message",
		"message_level", "resource_type", "resource_uuid", "created_at", "guaranteed_until", "request_id", "links"})
	for k, want := range map[string]string{
		"id": m.ID, "event_id": "VOLUME_VOLUME_001_003", "user_message": "schedule allocate volume:" + reason,
		"message_level": "ERROR", "resource_type": "VOLUME", "resource_uuid": m.ResourceUUID,
		"request_id": m.RequestID,
		"created_at": m.CreatedAt.Format(timestampLayout), "guaranteed_until": m.ExpiresAt.Format(timestampLayout),
	} {
		if got := str(t, body, "message", k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := m.ExpiresAt.Sub(m.CreatedAt); got != 30*24*time.Hour {
		t.Errorf("guaranteed for %v, want 30 days (message_ttl)", got)
	}
	if got, want := str(t, body, "message", "links", 0, "href"), "http://"+testHost+"/v3/p1/messages/"+m.ID; got != want {
		t.Errorf("self link %q, want %q", got, want)
	}

	// Without a project in the URL (3.67) too.
	wantStatus(t, e.do(call{method: "GET", path: "/v3/messages/" + m.ID, version: v33}), http.StatusOK)

	t.Run("versioned out", func(t *testing.T) {
		for _, c := range []call{
			{method: "GET", path: "/v3/p1/messages/" + m.ID},
			{method: "GET", path: "/v3/p1/messages/" + m.ID, version: "volume 3.2"},
			{method: "GET", path: "/v3/p1/messages"},
			{method: "DELETE", path: "/v3/p1/messages/" + m.ID, version: "volume 3.0"},
		} {
			wantFault(t, e.do(c), http.StatusNotFound, "itemNotFound", wire.MsgResourceNotFound)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for _, id := range []string{"00000000-0000-4000-8000-000000000000", "nonsense"} {
			wantFault(t, e.do(call{method: "GET", path: "/v3/p1/messages/" + id, version: v33}),
				http.StatusNotFound, "itemNotFound", "Message "+id+" could not be found.")
			wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/messages/" + id, version: v33}),
				http.StatusNotFound, "itemNotFound", "Message "+id+" could not be found.")
		}
	})
}

func TestMessageListAndDelete(t *testing.T) {
	e := newEnv(t)
	var ids []string // newest first
	for _, p := range []string{testProject, "p2", testProject} {
		m := e.addMessage(p, "6b1f3c1e-aaaa-4bbb-8ccc-000000000002", "No valid backend: 0/1 pools fit — 1 lacks capacity")
		ids = append([]string{m.ID}, ids...)
	}
	list := func(c call) []string {
		t.Helper()
		rec := e.do(c)
		wantStatus(t, rec, http.StatusOK)
		var got []string
		items, _ := member(t, obj(t, rec), "messages").([]any)
		for i := range items {
			got = append(got, str(t, items[i], "id"))
		}
		return got
	}
	tests := []struct {
		name string
		c    call
		want []string
	}{
		// noauth makes every caller an admin, and Cinder shows an admin every project's messages.
		{"all, newest first", call{method: "GET", path: "/v3/p1/messages", version: v33}, ids},
		{"limit ignored before 3.5", call{method: "GET", path: "/v3/p1/messages?limit=1", version: v33}, ids},
		{"limit", call{method: "GET", path: "/v3/p1/messages?limit=2", version: v35}, ids[:2]},
		{"marker", call{method: "GET", path: "/v3/p1/messages?marker=" + ids[0], version: v35}, ids[1:]},
		{"sort", call{method: "GET", path: "/v3/p1/messages?sort=created_at:desc", version: v35}, ids},
		{"resource_uuid filter", call{method: "GET", path: "/v3/p1/messages?resource_uuid=6b1f3c1e-aaaa-4bbb-8ccc-000000000002", version: v35}, ids},
		{"event_id and level filters", call{method: "GET", path: "/v3/p1/messages?event_id=VOLUME_VOLUME_001_003&message_level=ERROR", version: v35}, ids},
		{"filter with a limit", call{method: "GET", path: "/v3/p1/messages?resource_type=VOLUME&limit=1", version: v35}, ids[:1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.c); len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) ||
				got[len(got)-1] != tc.want[len(tc.want)-1] {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}
	rec := e.do(call{method: "GET", path: "/v3/p1/messages?limit=1", version: v35})
	if got := str(t, obj(t, rec), "messages_links", 0, "href"); got != "http://"+testHost+"/v3/p1/messages?limit=1&marker="+ids[0] {
		t.Errorf("next link %q", got)
	}
	for _, q := range []string{"event_id=x", "resource_uuid=6b1f3c1e-aaaa-4bbb-8ccc-000000000009", "message_level=INFO"} {
		if got := list(call{method: "GET", path: "/v3/p1/messages?" + q, version: v35}); len(got) != 0 {
			t.Errorf("messages?%s = %v, want none", q, got)
		}
	}
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/messages?color=x&zz=1", version: v35}), http.StatusBadRequest, "badRequest",
		"Invalid filters color,zz are found in query options.")
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/messages?marker=00000000-0000-4000-8000-000000000000", version: v35}),
		http.StatusNotFound, "itemNotFound", "Message 00000000-0000-4000-8000-000000000000 could not be found.")

	rec = e.do(call{method: "DELETE", path: "/v3/p1/messages/" + ids[1], version: v33})
	wantStatus(t, rec, http.StatusNoContent)
	if rec.Body.Len() != 0 {
		t.Errorf("delete answered a body %q", rec.Body)
	}
	if got := list(call{method: "GET", path: "/v3/p1/messages", version: v33}); len(got) != 2 || got[0] != ids[0] || got[1] != ids[2] {
		t.Errorf("after delete: %v, want %v", got, []string{ids[0], ids[2]})
	}
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/messages/" + ids[1], version: v33}),
		http.StatusNotFound, "itemNotFound", "Message "+ids[1]+" could not be found.")
}
