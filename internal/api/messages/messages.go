// Package messages serves Cinder's user messages (3.3): GET /messages (paged, sorted and
// filtered from 3.5), GET /messages/{id} and DELETE /messages/{id}, as Cinder's
// v3/messages.py does. It holds the handlers (Handlers: List, Show and Delete, which the
// API's router registers with their policy rules), what they need of the database (Store),
// the message view and the list query's checks. A non-admin sees their own project's
// messages; an admin sees every project's.
package messages

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/view"
	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Store is what the user-message endpoints need of the database; projectID "" is any
// project.
type Store interface {
	ListMessages(ctx context.Context, f resource.MessageFilter) ([]*resource.Message, error)
	GetMessage(ctx context.Context, id, projectID string) (*resource.Message, error)
	DeleteMessage(ctx context.Context, id, projectID string) error
}

// Microversions at which the message endpoints change.
var (
	mvMessages           = wire.Version{Major: 3, Minor: 3}
	mvMessagesPagination = wire.Version{Major: 3, Minor: 5}
)

// Handlers serves the user-message endpoints.
type Handlers struct {
	store    Store
	log      logrus.FieldLogger
	maxLimit int // osapi_max_limit: the largest page
}

// New returns the handlers of the user-message endpoints: store holds the messages, log
// records deletions, maxLimit caps a page.
func New(store Store, log logrus.FieldLogger, maxLimit int) *Handlers {
	return &Handlers{store: store, log: log, maxLimit: maxLimit}
}

// messageView is Cinder's view of a user message (cinder/api/v3/views/messages.py).
type messageView struct {
	ID              string           `json:"id"`
	EventID         string           `json:"event_id"`
	UserMessage     string           `json:"user_message"`
	MessageLevel    string           `json:"message_level"`
	ResourceType    view.Opt[string] `json:"resource_type,omitzero"`
	ResourceUUID    view.Opt[string] `json:"resource_uuid,omitzero"`
	CreatedAt       view.Timestamp   `json:"created_at"`
	GuaranteedUntil view.Timestamp   `json:"guaranteed_until"`
	RequestID       *string          `json:"request_id"`
	Links           []view.Link      `json:"links"`
}

func messageOf(vw view.Linker, m *resource.Message) messageView {
	out := messageView{
		ID: m.ID, EventID: m.EventID, UserMessage: m.UserMessage(), MessageLevel: m.Level,
		CreatedAt: view.Timestamp(m.CreatedAt), GuaranteedUntil: view.Timestamp(m.ExpiresAt),
		RequestID: view.Nullable(m.RequestID), Links: vw.Links("messages", m.ID),
	}
	if m.ResourceType != "" {
		out.ResourceType = view.Some(m.ResourceType)
	}
	if m.ResourceUUID != "" {
		out.ResourceUUID = view.Some(m.ResourceUUID)
	}
	return out
}

type messageList struct {
	Messages []messageView `json:"messages"`
	Links    []view.Link   `json:"messages_links,omitempty"`
}

// messageProject is the project whose messages the caller sees: its own, or (an admin, as
// Cinder's project_only query lets one) every project's.
func messageProject(ctx context.Context) string {
	if rc := reqctx.From(ctx); !rc.IsAdmin {
		return rc.ProjectID
	}
	return ""
}

// Query parameters of a message list that Scoria implements (from 3.5).
var messageListKeys = map[string]bool{"limit": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true}

// messageFilterKeys are Cinder's filters of a message list (resource_filters.json), each a
// column of the messages table.
var messageFilterKeys = map[string]bool{
	"resource_uuid": true, "resource_type": true, "event_id": true, "request_id": true, "message_level": true,
}

// FilterKeys are the filters of a message list, sorted (GET /resource_filters publishes them).
func FilterKeys() []string { return slices.Sorted(maps.Keys(messageFilterKeys)) }

// List is GET /messages (3.3): the caller's user messages, newest first; from 3.5
// paged with limit and marker.
func (s *Handlers) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	if !mv.AtLeast(mvMessages) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	filter := resource.MessageFilter{ProjectID: messageProject(ctx), Limit: s.maxLimit}
	if mv.AtLeast(mvMessagesPagination) { // before 3.5 Cinder ignores the query
		if f := parseMessageListParams(q, &filter, s.maxLimit); f != nil {
			return f
		}
	}
	var msgs []*resource.Message
	if filter.Limit > 0 {
		var err error
		if msgs, err = s.store.ListMessages(ctx, filter); err != nil {
			if filter.Marker != "" && errors.Is(err, resource.ErrNotFound) {
				err = &resource.NotFoundError{Kind: "Message", ID: filter.Marker}
			}
			return err
		}
	}
	vw := view.NewLinker(r)
	out := messageList{Messages: make([]messageView, len(msgs))}
	for i, m := range msgs {
		out.Messages[i] = messageOf(vw, m)
	}
	if len(msgs) > 0 && filter.Limit <= len(msgs) {
		out.Links = vw.Next("messages", q, msgs[len(msgs)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}

func parseMessageListParams(q wire.Query, filter *resource.MessageFilter, maxLimit int) *wire.Fault {
	var unknown []string
	for _, kv := range q {
		switch {
		case messageListKeys[kv.Key]:
		case messageFilterKeys[kv.Key]:
			if filter.Fields == nil {
				filter.Fields = map[string]string{}
			}
			filter.Fields[kv.Key] = kv.Value
		case !slices.Contains(unknown, kv.Key):
			unknown = append(unknown, kv.Key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(unknown, ","))
	}
	if v, ok := q.Get("limit"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return wire.BadRequest("limit param must be an integer")
		}
		if n < 0 {
			return wire.BadRequest("limit param must be positive")
		}
		filter.Limit = min(n, maxLimit)
	}
	if f := checkSortParams(q); f != nil {
		return f
	}
	if m, _ := q.Get("marker"); m != "" {
		if !wire.IsUUIDLike(m) {
			return wire.NotFound("Message %s could not be found.", m)
		}
		filter.Marker = m
	}
	return nil
}

// getMessage reads a message the caller may see; anything else is Cinder's 404.
func (s *Handlers) getMessage(ctx context.Context, id string) (*resource.Message, error) {
	if !wire.IsUUIDLike(id) {
		return nil, &resource.NotFoundError{Kind: "Message", ID: id}
	}
	m, err := s.store.GetMessage(ctx, id, messageProject(ctx))
	if err != nil {
		return nil, err
	}
	if f := authz.DecideOn(ctx, "Message", id, m.ProjectID); f != nil {
		return nil, f
	}
	return m, nil
}

// Show is GET /messages/{id} (3.3).
func (s *Handlers) Show(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvMessages) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	m, err := s.getMessage(r.Context(), mux.Vars(r)["message_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"message": messageOf(view.NewLinker(r), m)})
	return nil
}

// Delete is DELETE /messages/{id} (3.3): 204.
func (s *Handlers) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !wire.VersionOf(ctx).AtLeast(mvMessages) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	id := mux.Vars(r)["message_id"]
	if _, err := s.getMessage(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeleteMessage(ctx, id, messageProject(ctx)); err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithField("message_id", id).Info("message deleted")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkSortParams (used by the messages list) accepts the sort Scoria lists messages in,
// newest first (Cinder's default order), however it is spelled, and refuses any other.
func checkSortParams(q wire.Query) *wire.Fault {
	sortSpec, hasSort := q.Get("sort")
	key, hasKey := q.Get("sort_key")
	dir, hasDir := q.Get("sort_dir")
	if hasSort && (hasKey || hasDir) {
		return wire.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	// Effective "key:dir" pairs, with Cinder's defaults (created_at, desc) filled in.
	var orders []string
	if hasSort && strings.TrimSpace(sortSpec) != "" {
		for _, item := range strings.Split(sortSpec, ",") {
			k, d, _ := strings.Cut(item, ":")
			orders = append(orders, sortOrder(k, d))
		}
	} else {
		if strings.TrimSpace(key) == "" {
			key = "created_at"
		}
		orders = []string{sortOrder(key, dir)}
	}
	spec := strings.Join(orders, ",")
	if spec != "created_at:desc" && spec != "created_at:desc,id:desc" {
		return wire.BadRequest("Sorting messages by %s is not supported by Scoria yet; messages are listed newest first (sort=created_at:desc).", spec)
	}
	return nil
}

func sortOrder(key, dir string) string {
	dir = strings.ToLower(strings.TrimSpace(dir))
	if dir == "" {
		dir = "desc"
	}
	return strings.TrimSpace(key) + ":" + dir
}
