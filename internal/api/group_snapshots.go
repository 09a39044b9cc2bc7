package api

// Group snapshots (3.14+): POST/GET /group_snapshots, GET /group_snapshots/detail,
// GET/DELETE /group_snapshots/{id}, POST /group_snapshots/{id}/action reset_status (3.19).
// A group snapshot is written with a snapshot of every volume of its group, their quota and
// the create_group_snapshot cast to the group's backend, in one transaction; the volume
// service finishes them together. Group snapshots of Cinder's reserved
// default_cgsnapshot_type are refused here, as Cinder refuses them (the cgsnapshot API's).

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// groupSnapshotStore is what this area needs of the database.
type groupSnapshotStore interface {
	GetGroup(ctx context.Context, id string) (*resource.Group, error)
	ListGroupVolumes(ctx context.Context, groupID string) ([]*resource.Volume, error)
	IsCGSnapshotType(ctx context.Context, groupTypeID string) (bool, error)
	CreateGroupSnapshot(ctx context.Context, gs *resource.GroupSnapshot, msgs ...resource.OutboxMessage) ([]*resource.Snapshot, []resource.OutboxMessage, error)
	GetGroupSnapshot(ctx context.Context, id string) (*resource.GroupSnapshot, error)
	GroupSnapshotHost(ctx context.Context, id string) (string, error)
	ListGroupSnapshots(ctx context.Context, f db.GroupSnapshotFilter) ([]*resource.GroupSnapshot, error)
	StartGroupSnapshotDelete(ctx context.Context, id string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	ResetGroupSnapshotStatus(ctx context.Context, id, status string) error
}

// Microversions of group snapshots.
var (
	mvGroupSnapshots           = wire.Version{Major: 3, Minor: 14}
	mvGroupSnapshotResetStatus = wire.Version{Major: 3, Minor: 19}
	mvGroupSnapshotPagination  = wire.Version{Major: 3, Minor: 29}
	mvGroupSnapshotProjectID   = wire.Version{Major: 3, Minor: 58}
)

// Policy rules of group snapshots, named as in Cinder (policies/group_snapshots.py,
// group_snapshot_actions.py).
const (
	policyGroupSnapshotCreate      = "group:create_group_snapshot"
	policyGroupSnapshotDelete      = "group:delete_group_snapshot"
	policyGroupSnapshotGet         = "group:get_group_snapshot"
	policyGroupSnapshotGetAll      = "group:get_all_group_snapshots"
	policyGroupSnapshotAttributes  = "group:group_snapshot_project_attribute"
	policyGroupSnapshotResetStatus = "group:reset_group_snapshot_status"
)

// GroupSnapshotStatuses are the statuses reset_status accepts (fields.GroupSnapshotStatus).
var groupSnapshotStatuses = []string{
	resource.GroupStatusError, resource.GroupStatusAvailable, resource.GroupStatusCreating, resource.GroupStatusDeleting,
	resource.GroupStatusDeleted, resource.GroupStatusUpdating, resource.GroupStatusErrorDeleting,
}

// groupSnapshotRoutes registers this area's routes.
func (s *server) groupSnapshotRoutes(api route) {
	gate := func(mv wire.Version, h wire.HandlerFunc) wire.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			if !wire.VersionOf(r.Context()).AtLeast(mv) {
				return wire.NotFound(wire.MsgResourceNotFound)
			}
			return h(w, r)
		}
	}
	api("/group_snapshots", http.MethodGet, gate(mvGroupSnapshots, s.listGroupSnapshots))
	api("/group_snapshots", http.MethodPost, gate(mvGroupSnapshots, s.createGroupSnapshot))
	api("/group_snapshots/detail", http.MethodGet, gate(mvGroupSnapshots, s.listGroupSnapshotsDetail))
	api("/group_snapshots/{group_snapshot_id}", http.MethodGet, gate(mvGroupSnapshots, s.showGroupSnapshot))
	api("/group_snapshots/{group_snapshot_id}", http.MethodDelete, gate(mvGroupSnapshots, s.deleteGroupSnapshot))
	api("/group_snapshots/{group_snapshot_id}/action", http.MethodPost, gate(mvGroupSnapshotResetStatus, s.groupSnapshotAction))
}

// groupSnapshotView is Cinder's group snapshot view (views/group_snapshots.py): the summary
// is id and name (with group_type_id in the create's answer), the detail all of it.
type groupSnapshotView struct {
	ID          string       `json:"id"`
	GroupID     opt[string]  `json:"group_id,omitzero"`
	GroupTypeID opt[string]  `json:"group_type_id,omitzero"`
	Status      opt[string]  `json:"status,omitzero"`
	CreatedAt   *timestamp   `json:"created_at,omitempty"`
	Name        *string      `json:"name"`
	Description opt[*string] `json:"description,omitzero"`
	ProjectID   opt[string]  `json:"project_id,omitzero"` // 3.58, as group:group_snapshot_project_attribute allows
}

// groupSnapshotCreated is Cinder's summary view with group_type_id: the create's answer.
type groupSnapshotCreated struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	GroupTypeID string  `json:"group_type_id"`
}

func groupSnapshotSummary(gs *resource.GroupSnapshot) groupSnapshotView {
	return groupSnapshotView{ID: gs.ID, Name: nullable(gs.Name)}
}

func groupSnapshotDetail(ctx context.Context, gs *resource.GroupSnapshot) groupSnapshotView {
	created := timestamp(gs.CreatedAt)
	v := groupSnapshotView{
		ID: gs.ID, GroupID: some(gs.GroupID), GroupTypeID: some(gs.GroupTypeID), Status: some(gs.Status),
		CreatedAt: &created, Name: nullable(gs.Name), Description: some(nullable(gs.Description)),
	}
	if wire.VersionOf(ctx).AtLeast(mvGroupSnapshotProjectID) && allowedIn(ctx, policyGroupSnapshotAttributes, reqctx.From(ctx).ProjectID) {
		v.ProjectID = some(gs.ProjectID)
	}
	return v
}

// refuseCGSnapshotType is Cinder's _check_default_cgsnapshot_type.
func (s *server) refuseCGSnapshotType(ctx context.Context, groupTypeID string) error {
	cg, err := s.store.IsCGSnapshotType(ctx, groupTypeID)
	if err != nil {
		return err
	}
	if cg {
		return wire.BadRequest("Group_type %s is reserved for migrating CGs to groups. Migrated group snapshots can only be operated by CG snapshot APIs.", groupTypeID)
	}
	return nil
}

// getGroupSnapshot reads a group snapshot the caller may see; anything else is Cinder's 404.
func (s *server) getGroupSnapshot(ctx context.Context, id string) (*resource.GroupSnapshot, error) {
	// Cinder's GroupSnapshotNotFound names the kind in one word.
	notFoundGS := wire.NotFound("GroupSnapshot %s could not be found.", id)
	gs, err := s.store.GetGroupSnapshot(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, notFoundGS
	}
	if err != nil {
		return nil, err
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && gs.ProjectID != rc.ProjectID {
		return nil, notFoundGS
	}
	if f := decideOn(ctx, "GroupSnapshot", id, gs.ProjectID); f != nil {
		return nil, f
	}
	return gs, nil
}

// parseGroupSnapshotCreate validates a create body against Cinder's group_snapshots create
// schema.
func parseGroupSnapshotCreate(body any) (groupID string, name, description *string, f *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return "", nil, nil, f
	}
	raw, ok := top.Get("group_snapshot")
	if !ok {
		return "", nil, nil, wire.SchemaError("", top, "'group_snapshot' is a required property")
	}
	if f := wire.CheckAdditional("", top, "group_snapshot"); f != nil {
		return "", nil, nil, f
	}
	gs, f := wire.RequireObject("group_snapshot", raw)
	if f != nil {
		return "", nil, nil, f
	}
	for _, k := range []string{"name", "description"} {
		if v, ok := gs.Get(k); ok {
			if f := wire.CheckNullableString(k, v, 0, 255); f != nil {
				return "", nil, nil, f
			}
		}
	}
	v, ok := gs.Get("group_id")
	if !ok {
		return "", nil, nil, wire.SchemaError("group_snapshot", gs, "'group_id' is a required property")
	}
	if f := wire.CheckType("group_id", v, "string"); f != nil {
		return "", nil, nil, f
	}
	if !wire.IsUUIDLike(v.(string)) {
		return "", nil, nil, wire.SchemaError("group_id", v, wire.PyRepr(v)+" is not a 'uuid'")
	}
	if f := wire.CheckAdditional("group_snapshot", gs, "group_id", "name", "description"); f != nil {
		return "", nil, nil, f
	}
	if n, ok := gs.Get("name"); ok {
		name = wire.Stripped(n)
	}
	if d, ok := gs.Get("description"); ok {
		description = wire.Stripped(d)
	}
	return v.(string), name, description, nil
}

// createGroupSnapshot is POST /group_snapshots: Cinder's checks of the group and of each
// member volume, then the group snapshot, a snapshot per member, their quota and the
// create_group_snapshot cast to the group's backend in one transaction.
func (s *server) createGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	return s.startGroupSnapshot(w, r)
}

func (s *server) startGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	groupID, name, description, f := parseGroupSnapshotCreate(body)
	if f != nil {
		return f
	}
	gs, err := s.snapshotGroup(r.Context(), groupID, name, description, true)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"group_snapshot": groupSnapshotCreated{ID: gs.ID, Name: nullable(gs.Name), GroupTypeID: gs.GroupTypeID}})
	return nil
}

// snapshotGroup is Cinder's create_group_snapshot of group groupID (group snapshots and
// cgsnapshots alike): the group the caller may see, its members' checks, then the rows,
// quota and cast. refuseCG refuses groups of the reserved default_cgsnapshot_type.
func (s *server) snapshotGroup(ctx context.Context, groupID string, name, description *string, refuseCG bool) (*resource.GroupSnapshot, error) {
	rc := reqctx.From(ctx)
	notFoundGroup := wire.NotFound("Group %s could not be found.", groupID)
	g, err := s.store.GetGroup(ctx, groupID)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, notFoundGroup
	}
	if err != nil {
		return nil, err
	}
	if !rc.IsAdmin && g.ProjectID != rc.ProjectID {
		return nil, notFoundGroup
	}
	if f := decideOn(ctx, "Group", groupID, g.ProjectID); f != nil {
		return nil, f
	}
	if refuseCG {
		if err := s.refuseCGSnapshotType(ctx, g.GroupTypeID); err != nil {
			return nil, err
		}
	}
	// Cinder's _create_snapshot_in_db_validate of every member, for its messages; the store
	// checks the same again under the rows' locks.
	vols, err := s.store.ListGroupVolumes(ctx, groupID)
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		if f := memberRefusal(v.Host, v.Status); f != nil {
			return nil, f
		}
	}
	if g.Host == "" {
		return nil, wire.BadRequest("Invalid group: Group %s has not been placed on a backend yet.", groupID)
	}
	gs := &resource.GroupSnapshot{ID: uuid.NewString(), GroupID: groupID, ProjectID: rc.ProjectID, UserID: rc.UserID}
	if name != nil {
		gs.Name = *name
	}
	if description != nil {
		gs.Description = *description
	}
	msg, err := rpcapi.Outbox(rc, rpcapi.VolumeTarget(g.Host), rpcapi.CreateGroupSnapshot, rpcapi.GroupSnapshotArgs{GroupSnapshotID: gs.ID})
	if err != nil {
		return nil, err
	}
	snaps, msgs, err := s.store.CreateGroupSnapshot(ctx, gs, msg)
	if err != nil {
		var ise *resource.InvalidStateError
		if errors.As(err, &ise) {
			if ise.Kind == "Group" {
				return nil, wire.BadRequest("Invalid group: Group %s has not been placed on a backend yet.", groupID)
			}
			host := "placed" // the store says "unplaced" for a volume without a host
			if ise.Status == "unplaced" {
				host = ""
			}
			if f := memberRefusal(host, ise.Status); f != nil {
				return nil, f
			}
		}
		if errors.Is(err, resource.ErrNotFound) {
			return nil, notFoundGroup
		}
		return nil, err
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_snapshot_id": gs.ID, "group_id": groupID, "members": len(snaps)}).
		Info("group snapshot create accepted")
	return gs, nil
}

// memberRefusal is Cinder's _create_snapshot_in_db_validate of a member volume on host in
// status; nil when it may be snapshotted.
func memberRefusal(host, status string) *wire.Fault {
	switch {
	case host == "":
		return wire.BadRequest("Invalid volume: The snapshot cannot be created because volume has not been scheduled to any host.")
	case status == resource.StatusMaintenance:
		return wire.BadRequest("Invalid volume: The snapshot cannot be created when the volume is in maintenance mode.")
	case status == resource.StatusError:
		return wire.BadRequest("Invalid volume: The snapshot cannot be created when the volume is in error status.")
	case strings.HasPrefix(status, "replica_"):
		return wire.BadRequest("Invalid volume: Snapshot of secondary replica is not allowed.")
	}
	return nil
}

// showGroupSnapshot is GET /group_snapshots/{id}.
func (s *server) showGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	gs, err := s.getGroupSnapshot(ctx, mux.Vars(r)["group_snapshot_id"])
	if err == nil {
		err = s.refuseCGSnapshotType(ctx, gs.GroupTypeID)
	}
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"group_snapshot": groupSnapshotDetail(ctx, gs)})
	return nil
}

// deleteGroupSnapshot is DELETE /group_snapshots/{id}: available or error, and no group
// being created from it, to deleting with its members and the delete_group_snapshot cast,
// in one transaction.
func (s *server) deleteGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["group_snapshot_id"]
	err := func() error {
		gs, err := s.getGroupSnapshot(ctx, id)
		if err != nil {
			return err
		}
		if err := s.refuseCGSnapshotType(ctx, gs.GroupTypeID); err != nil {
			return err
		}
		return s.startGroupSnapshotDelete(ctx, id)
	}()
	if err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithField("group_snapshot_id", id).Info("group snapshot delete accepted")
	wire.WriteAccepted(w)
	return nil
}

// startGroupSnapshotDelete is Cinder's delete_group_snapshot of id (group snapshots and
// cgsnapshots alike): to deleting with its members and the cast, in one transaction.
func (s *server) startGroupSnapshotDelete(ctx context.Context, id string) error {
	host, err := s.store.GroupSnapshotHost(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return wire.NotFound("GroupSnapshot %s could not be found.", id)
	}
	if err != nil {
		return err
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(host), rpcapi.DeleteGroupSnapshot, rpcapi.GroupSnapshotArgs{GroupSnapshotID: id})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartGroupSnapshotDelete(ctx, id, msg)
	if errors.Is(err, resource.ErrInvalidState) {
		return wire.BadRequest("Invalid group snapshot: GroupSnapshot status must be available or error, and no Group can be currently using it as source for its creation.")
	}
	if errors.Is(err, resource.ErrNotFound) {
		return wire.NotFound("GroupSnapshot %s could not be found.", id)
	}
	if err != nil {
		return err
	}
	s.dispatch(ctx, msgs)
	return nil
}

// groupSnapshotAction is POST /group_snapshots/{id}/action: reset_status (3.19, admin).
func (s *server) groupSnapshotAction(w http.ResponseWriter, r *http.Request) error {
	err := func() error {
		body, err := wire.ReadBody(r)
		if err != nil {
			return err
		}
		o, ok := body.(*wire.Object)
		if !ok || len(o.Keys) != 1 {
			return wire.BadRequest(wire.MsgMalformedBody)
		}
		name := o.Keys[0]
		if name != "reset_status" {
			return wire.BadRequest("There is no such action: %s", name)
		}
		deferRule(r, policyGroupSnapshotResetStatus)
		args, _ := o.Get(name)
		a, f := wire.RequireObject("reset_status", args)
		if f != nil {
			return f
		}
		raw, ok := a.Get("status")
		if !ok {
			return wire.SchemaError("reset_status", a, "'status' is a required property")
		}
		if f := wire.CheckType("status", raw, "string"); f != nil {
			return f
		}
		if f := wire.CheckAdditional("reset_status", a, "status"); f != nil {
			return f
		}
		status := strings.ToLower(raw.(string))
		if !slices.Contains(groupSnapshotStatuses, status) {
			return wire.SchemaError("status", raw, wire.PyRepr(raw)+" is not a 'group_snapshot_status'")
		}
		ctx := r.Context()
		id := mux.Vars(r)["group_snapshot_id"]
		if _, err := s.getGroupSnapshot(ctx, id); err != nil {
			return err
		}
		if err := s.store.ResetGroupSnapshotStatus(ctx, id, status); err != nil {
			if errors.Is(err, resource.ErrNotFound) {
				return wire.NotFound("GroupSnapshot %s could not be found.", id)
			}
			return err
		}
		reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_snapshot_id": id, "status": status}).Info("group snapshot status reset")
		return nil
	}()
	if err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// groupSnapshotList is the body of a group snapshot list.
type groupSnapshotList struct {
	GroupSnapshots []groupSnapshotView `json:"group_snapshots"`
	Links          []link              `json:"group_snapshot_links,omitempty"`
}

// listGroupSnapshots is GET /group_snapshots: id and name of each.
func (s *server) listGroupSnapshots(w http.ResponseWriter, r *http.Request) error {
	return s.groupSnapshotList(w, r, false)
}

// listGroupSnapshotsDetail is GET /group_snapshots/detail.
func (s *server) listGroupSnapshotsDetail(w http.ResponseWriter, r *http.Request) error {
	return s.groupSnapshotList(w, r, true)
}

// parseGroupSnapshotListParams reads a group snapshot list's query as Cinder does: before
// 3.29 the query is not read at all; from 3.29 filters (name, status, group_id; name~ from
// 3.34), sort and paging. Filters Scoria cannot apply are refused rather than ignored.
func (s *server) parseGroupSnapshotListParams(r *http.Request, q wire.Query) (f db.GroupSnapshotFilter, empty bool, flt *wire.Fault) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	f.ProjectID = rc.ProjectID
	if !mv.AtLeast(mvGroupSnapshotPagination) {
		return f, false, nil
	}
	known := map[string]bool{
		"limit": true, "offset": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true,
		"all_tenants": true, "project_id": true, "name": true, "status": true, "group_id": true,
		"name~": mv.AtLeast(mvLikeFilter),
	}
	var unknown []string
	for _, kv := range q {
		if !known[kv.Key] && !slices.Contains(unknown, kv.Key) {
			unknown = append(unknown, kv.Key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return f, false, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(unknown, ","))
	}
	if f.Limit, flt = wire.ParseLimit(q, s.maxLimit); flt != nil {
		return f, false, flt
	}
	if f.Offset, flt = wire.ParseOffset(q); flt != nil {
		return f, false, flt
	}
	if f.Sort, flt = parseGroupSnapshotSort(q); flt != nil {
		return f, false, flt
	}
	f.Marker, _ = q.Get("marker")
	allTenants := false
	if v, ok := q.Get("all_tenants"); ok {
		if allTenants, flt = wire.ParseBoolParam("all_tenants", v); flt != nil {
			return f, false, flt
		}
	}
	project, hasProject := q.Get("project_id")
	if allTenants && rc.IsAdmin {
		f.ProjectID = project
	} else {
		empty = hasProject && project != rc.ProjectID
	}
	f.Name, _ = q.Get("name")
	f.NameLike, _ = q.Get("name~")
	f.Status, _ = q.Get("status")
	f.GroupID, _ = q.Get("group_id")
	return f, empty, nil
}

// parseGroupSnapshotSort reads sort (key:dir,…) or sort_key/sort_dir as Cinder's
// get_sort_params does.
func parseGroupSnapshotSort(q wire.Query) ([]resource.SnapshotSort, *wire.Fault) {
	spec, hasSort := q.Get("sort")
	key, hasKey := q.Get("sort_key")
	dir, hasDir := q.Get("sort_dir")
	if hasSort && spec != "" && ((hasKey && key != "") || (hasDir && dir != "")) {
		return nil, wire.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	var keys, dirs []string
	if hasSort && spec != "" {
		for _, item := range strings.Split(spec, ",") {
			k, d, hasD := strings.Cut(item, ":")
			keys = append(keys, strings.TrimSpace(k))
			if hasD {
				dirs = append(dirs, strings.ToLower(strings.TrimSpace(d)))
			}
		}
	} else {
		keys, dirs = []string{"created_at"}, []string{"desc"}
		if hasKey {
			keys = []string{strings.TrimSpace(key)}
		}
		if hasDir {
			dirs = []string{strings.TrimSpace(dir)}
		}
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return nil, wire.InvalidInput("Unknown sort direction, must be 'desc' or 'asc'.")
		}
	}
	if len(dirs) > len(keys) {
		return nil, wire.InvalidInput("Sort direction array size exceeds sort key array size.")
	}
	defaultDir := "asc"
	if len(dirs) > 0 {
		defaultDir = dirs[0]
	}
	out := make([]resource.SnapshotSort, len(keys))
	for i, k := range keys {
		if !slices.Contains(db.GroupSnapshotSortKeys, k) {
			return nil, wire.InvalidInput("Invalid sort key")
		}
		d := defaultDir
		if i < len(dirs) {
			d = dirs[i]
		}
		out[i] = resource.SnapshotSort{Key: k, Desc: d == "desc"}
	}
	return out, nil
}

func (s *server) groupSnapshotList(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	filter, empty, f := s.parseGroupSnapshotListParams(r, q)
	if f != nil {
		return f
	}
	list := []*resource.GroupSnapshot{}
	if !empty {
		var err error
		if list, err = s.store.ListGroupSnapshots(ctx, filter); err != nil {
			if errors.Is(err, resource.ErrInvalidState) {
				err = wire.InvalidInput("Invalid sort key")
			}
			return err
		}
	}
	out := groupSnapshotList{GroupSnapshots: make([]groupSnapshotView, len(list))}
	for i, gs := range list {
		if detail {
			out.GroupSnapshots[i] = groupSnapshotDetail(ctx, gs)
		} else {
			out.GroupSnapshots[i] = groupSnapshotSummary(gs)
		}
	}
	if filter.Limit > 0 && len(list) >= filter.Limit {
		out.Links = newViewer(r).nextLink("group_snapshots", q, list[len(list)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}
