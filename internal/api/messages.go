package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// messageStore is what the user-message endpoints need of the database; projectID "" is
// any project.
type messageStore interface {
	ListMessages(ctx context.Context, f resource.MessageFilter) ([]*resource.Message, error)
	GetMessage(ctx context.Context, id, projectID string) (*resource.Message, error)
	DeleteMessage(ctx context.Context, id, projectID string) error
	// CreateMessage leaves a user message (a refusal the API answers as Cinder does later,
	// after its 202).
	CreateMessage(ctx context.Context, m *resource.Message) error
}

// messageView is Cinder's view of a user message (cinder/api/v3/views/messages.py).
type messageView struct {
	ID              string      `json:"id"`
	EventID         string      `json:"event_id"`
	UserMessage     string      `json:"user_message"`
	MessageLevel    string      `json:"message_level"`
	ResourceType    opt[string] `json:"resource_type,omitzero"`
	ResourceUUID    opt[string] `json:"resource_uuid,omitzero"`
	CreatedAt       timestamp   `json:"created_at"`
	GuaranteedUntil timestamp   `json:"guaranteed_until"`
	RequestID       *string     `json:"request_id"`
	Links           []link      `json:"links"`
}

func (vw viewer) message(m *resource.Message) messageView {
	out := messageView{
		ID: m.ID, EventID: m.EventID, UserMessage: m.UserMessage(), MessageLevel: m.Level,
		CreatedAt: timestamp(m.CreatedAt), GuaranteedUntil: timestamp(m.ExpiresAt),
		RequestID: nullable(m.RequestID), Links: vw.links("messages", m.ID),
	}
	if m.ResourceType != "" {
		out.ResourceType = some(m.ResourceType)
	}
	if m.ResourceUUID != "" {
		out.ResourceUUID = some(m.ResourceUUID)
	}
	return out
}

type messageList struct {
	Messages []messageView `json:"messages"`
	Links    []link        `json:"messages_links,omitempty"`
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

// listMessages is GET /messages (3.3): the caller's user messages, newest first; from 3.5
// paged with limit and marker.
func (s *server) listMessages(w http.ResponseWriter, r *http.Request) error {
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
	vw := newViewer(r)
	out := messageList{Messages: make([]messageView, len(msgs))}
	for i, m := range msgs {
		out.Messages[i] = vw.message(m)
	}
	if len(msgs) > 0 && filter.Limit <= len(msgs) {
		out.Links = vw.nextLink("messages", q, msgs[len(msgs)-1].ID)
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
func (s *server) getMessage(ctx context.Context, id string) (*resource.Message, error) {
	if !wire.IsUUIDLike(id) {
		return nil, &resource.NotFoundError{Kind: "Message", ID: id}
	}
	m, err := s.store.GetMessage(ctx, id, messageProject(ctx))
	if err != nil {
		return nil, err
	}
	if f := decideOn(ctx, "Message", id, m.ProjectID); f != nil {
		return nil, f
	}
	return m, nil
}

// showMessage is GET /messages/{id} (3.3).
func (s *server) showMessage(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvMessages) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	m, err := s.getMessage(r.Context(), mux.Vars(r)["message_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"message": newViewer(r).message(m)})
	return nil
}

// deleteMessage is DELETE /messages/{id} (3.3): 204.
func (s *server) deleteMessage(w http.ResponseWriter, r *http.Request) error {
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
