package view

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"
)

func TestMarshal(t *testing.T) {
	at := time.Date(2026, 11, 21, 19, 2, 27, 123456789, time.FixedZone("x", 3600))
	type doc struct {
		At      Timestamp    `json:"at"`
		AtPtr   *Timestamp   `json:"at_ptr"`
		Unset   Opt[*string] `json:"unset,omitzero"`
		SetNull Opt[*string] `json:"set_null,omitzero"`
		Set     Opt[string]  `json:"set,omitzero"`
		Empty   *string      `json:"empty"`
		Full    *string      `json:"full"`
	}
	tests := []struct {
		name string
		in   doc
		want string
	}{
		{name: "zero", in: doc{}, want: `{"at":"0001-01-01T00:00:00.000000","at_ptr":null,"empty":null,"full":null}`},
		{name: "set", in: doc{
			At: Timestamp(at), AtPtr: TimestampPtr(&at), SetNull: Some[*string](nil), Set: Some("v"),
			Empty: Nullable(""), Full: Nullable("f"),
		}, want: `{"at":"2026-11-21T18:02:27.123456","at_ptr":"2026-11-21T18:02:27.123456","set_null":null,"set":"v","empty":null,"full":"f"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestLinker(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		headers   map[string]string
		wantSelf  string
		wantBook  string
		wantNext  string
		nextQuery string
	}{
		{name: "plain", target: "http://api:8776/v3/p1/messages",
			wantSelf: "http://api:8776/v3/p1/messages/m1", wantBook: "http://api:8776/p1/messages/m1",
			nextQuery: "limit=2&marker=old", wantNext: "http://api:8776/v3/p1/messages?limit=2&marker=m1"},
		{name: "behind a proxy", target: "http://api:8776/v3/p1/messages",
			headers:  map[string]string{"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "a.example, cloud.example"},
			wantSelf: "https://cloud.example/v3/p1/messages/m1", wantBook: "https://cloud.example/p1/messages/m1",
			nextQuery: "marker=old&sort=created_at:desc", wantNext: "https://cloud.example/v3/p1/messages?sort=created_at%3Adesc&marker=m1"},
		{name: "bad proto ignored", target: "http://api:8776/v3/p1/messages",
			headers:  map[string]string{"X-Forwarded-Proto": "gopher"},
			wantSelf: "http://api:8776/v3/p1/messages/m1", wantBook: "http://api:8776/p1/messages/m1",
			wantNext: "http://api:8776/v3/p1/messages?marker=m1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			l := Linker{Base: BaseURL(r), Project: "p1"}
			links := l.Links("messages", "m1")
			if len(links) != 2 || links[0] != (Link{Rel: "self", Href: tc.wantSelf}) || links[1] != (Link{Rel: "bookmark", Href: tc.wantBook}) {
				t.Errorf("Links = %+v", links)
			}
			q, f := wire.ParseQuery(tc.nextQuery)
			if f != nil {
				t.Fatal(f)
			}
			next := l.Next("messages", q, "m1")
			if len(next) != 1 || next[0] != (Link{Rel: "next", Href: tc.wantNext}) {
				t.Errorf("Next = %+v, want %s", next, tc.wantNext)
			}
		})
	}
}
