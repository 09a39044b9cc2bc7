// Package view holds what the API's views share, whichever area renders them: Cinder's
// timestamps (UTC, microseconds, no zone), members that a microversion or the caller's role
// adds (Opt: absent unless set, then rendered even when null), null for an empty string,
// and the links of a resource and of a list's next page, built from the address the client
// called (BaseURL, behind a proxy as it says it was called) and the caller's project.
package view

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/reqctx"
)

// Timestamp renders as Cinder does: UTC, microseconds, no zone ("2026-11-21T18:02:27.000000").
type Timestamp time.Time

// TimestampLayout is Cinder's time layout in its views.
const TimestampLayout = "2006-01-02T15:04:05.000000"

// MarshalJSON writes the time in Cinder's layout.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(TimestampLayout) + `"`), nil
}

// TimestampPtr is t as a Timestamp, nil (null) for nil or the zero time.
func TimestampPtr(t *time.Time) *Timestamp {
	if t == nil || t.IsZero() {
		return nil
	}
	ts := Timestamp(*t)
	return &ts
}

// Opt is a member that a microversion or the caller's role adds to a view: absent unless
// set (with the omitzero tag option), and then rendered even when its value is null.
type Opt[T any] struct {
	set bool
	v   T
}

// Some is an Opt that is set to v.
func Some[T any](v T) Opt[T] { return Opt[T]{set: true, v: v} }

// IsZero reports whether o is unset (omitzero leaves it out).
func (o Opt[T]) IsZero() bool { return !o.set }

// MarshalJSON writes the value.
func (o Opt[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.v) }

// Nullable is s, or nil (null) when s is empty.
func Nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Link is one entry of a view's links.
type Link struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href"`
}

// Linker builds the links of one request's views.
type Linker struct {
	Base    string // scheme://host as the client sees it
	Project string // the caller's project: Cinder builds links with it
}

// NewLinker is the Linker of r: its address and the caller's project.
func NewLinker(r *http.Request) Linker {
	return Linker{Base: BaseURL(r), Project: reqctx.From(r.Context()).ProjectID}
}

// Links are the self and bookmark links of the resource id in collection.
func (l Linker) Links(collection, id string) []Link {
	return []Link{
		{Rel: "self", Href: l.Base + "/v3/" + l.Project + "/" + collection + "/" + id},
		{Rel: "bookmark", Href: l.Base + "/" + l.Project + "/" + collection + "/" + id},
	}
}

// Next is the "next" link of a full page: the same query with marker (moved to the end, as
// webob's MultiDict puts it) set to the last item of the page.
func (l Linker) Next(collection string, query []wire.QueryParam, last string) []Link {
	vals := make([]string, 0, len(query)+1)
	for _, p := range query {
		if p.Key != "marker" {
			vals = append(vals, url.QueryEscape(p.Key)+"="+url.QueryEscape(p.Value))
		}
	}
	vals = append(vals, "marker="+url.QueryEscape(last))
	href := l.Base + "/v3/" + l.Project + "/" + collection + "?" + strings.Join(vals, "&")
	return []Link{{Rel: "next", Href: href}}
}

// BaseURL is scheme://host of the request, as a proxy in front of Scoria says it was called.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		parts := strings.Split(fh, ",")
		if h := strings.TrimSpace(parts[len(parts)-1]); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}
