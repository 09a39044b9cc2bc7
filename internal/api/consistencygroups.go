package api

// Consistency group snapshots: /cgsnapshots, which Cinder Zed still routes (the deprecated
// cgsnapshots extension, every microversion) on top of generic group snapshots, as Cinder's
// own migration left it: a cgsnapshot is a group snapshot, consistencygroup_id its group.
// Lists show every group snapshot of the caller's project (Cinder's get_all_group_snapshots
// with no filter), limited by limit and offset (common.limited). /consistencygroups is in
// consistencygroups_api.go.

import (
	"context"
	"net/http"
	"strconv"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// cgsnapshotRoutes registers /cgsnapshots.
func (s *server) cgsnapshotRoutes(api route) {
	api("/cgsnapshots", http.MethodGet, s.listCGSnapshots)
	api("/cgsnapshots", http.MethodPost, s.createCGSnapshot)
	api("/cgsnapshots/detail", http.MethodGet, s.listCGSnapshotsDetail)
	api("/cgsnapshots/{cgsnapshot_id}", http.MethodGet, s.showCGSnapshot)
	api("/cgsnapshots/{cgsnapshot_id}", http.MethodDelete, s.deleteCGSnapshot)
}

// cgsnapshotView is Cinder's cgsnapshot view (views/cgsnapshots.py): id and name in lists,
// all of it in the detail.
type cgsnapshotView struct {
	ID                 string       `json:"id"`
	ConsistencygroupID opt[*string] `json:"consistencygroup_id,omitzero"`
	Status             opt[string]  `json:"status,omitzero"`
	CreatedAt          *timestamp   `json:"created_at,omitempty"`
	Name               *string      `json:"name"`
	Description        opt[*string] `json:"description,omitzero"`
}

func cgsnapshotDetail(gs *resource.GroupSnapshot) cgsnapshotView {
	created := timestamp(gs.CreatedAt)
	return cgsnapshotView{ID: gs.ID, ConsistencygroupID: some(nullable(gs.GroupID)), Status: some(gs.Status),
		CreatedAt: &created, Name: nullable(gs.Name), Description: some(nullable(gs.Description))}
}

// getCGSnapshot is getGroupSnapshot under the cgsnapshot route's name.
func (s *server) getCGSnapshot(ctx context.Context, id string) (*resource.GroupSnapshot, error) {
	return s.getGroupSnapshot(ctx, id)
}

// createCGSnapshot is POST /cgsnapshots: {"cgsnapshot": {"consistencygroup_id", "name",
// "description"}}, a group snapshot of that group.
func (s *server) createCGSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	top, ok := body.(*wire.Object)
	if !ok {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	raw, ok := top.Get("cgsnapshot")
	if !ok {
		return wire.BadRequest("Missing required element 'cgsnapshot' in request body.")
	}
	cg, ok := raw.(*wire.Object)
	if !ok {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	for _, k := range []string{"name", "description"} {
		if v, ok := cg.Get(k); ok {
			if f := wire.CheckNullableString(k, v, 0, 255); f != nil {
				return f
			}
		}
	}
	v, ok := cg.Get("consistencygroup_id")
	if !ok {
		return wire.BadRequest("'consistencygroup_id' must be specified")
	}
	groupID, _ := v.(string)
	var name, description *string
	if n, ok := cg.Get("name"); ok {
		name = wire.Stripped(n)
	}
	if d, ok := cg.Get("description"); ok {
		description = wire.Stripped(d)
	}
	gs, err := s.snapshotGroup(ctx, groupID, name, description, false)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"cgsnapshot": cgsnapshotView{ID: gs.ID, Name: nullable(gs.Name)}})
	return nil
}

// showCGSnapshot is GET /cgsnapshots/{id}.
func (s *server) showCGSnapshot(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.getCGSnapshot(r.Context(), mux.Vars(r)["cgsnapshot_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"cgsnapshot": cgsnapshotDetail(gs)})
	return nil
}

// deleteCGSnapshot is DELETE /cgsnapshots/{id}: the group snapshot's delete.
func (s *server) deleteCGSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["cgsnapshot_id"]
	err := func() error {
		if _, err := s.getCGSnapshot(ctx, id); err != nil {
			return err
		}
		return s.startGroupSnapshotDelete(ctx, id)
	}()
	if err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithField("group_snapshot_id", id).Info("cgsnapshot delete accepted")
	wire.WriteAccepted(w)
	return nil
}

func (s *server) listCGSnapshots(w http.ResponseWriter, r *http.Request) error {
	return s.cgsnapshotList(w, r, false)
}

func (s *server) listCGSnapshotsDetail(w http.ResponseWriter, r *http.Request) error {
	return s.cgsnapshotList(w, r, true)
}

func (s *server) cgsnapshotList(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	filter := db.GroupSnapshotFilter{ProjectID: reqctx.From(ctx).ProjectID, WithCGSnapshots: true}
	// common.limited: offset and limit (at most the configured maximum).
	if v, ok := q.Get("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return wire.BadRequest("offset param must be an integer")
		}
		filter.Offset = n
	}
	filter.Limit = s.maxLimit
	if v, ok := q.Get("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return wire.BadRequest("limit param must be an integer")
		}
		filter.Limit = min(max(n, 0), s.maxLimit)
	}
	list := []*resource.GroupSnapshot{}
	if filter.Limit > 0 {
		var err error
		if list, err = s.store.ListGroupSnapshots(ctx, filter); err != nil {
			return err
		}
	}
	out := make([]cgsnapshotView, len(list))
	for i, gs := range list {
		if detail {
			out[i] = cgsnapshotDetail(gs)
		} else {
			out[i] = cgsnapshotView{ID: gs.ID, Name: nullable(gs.Name)}
		}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"cgsnapshots": out})
	return nil
}
