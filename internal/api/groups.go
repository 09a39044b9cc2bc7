package api

// Generic volume groups (3.13+): POST/GET /groups, GET /groups/detail, GET/PUT
// /groups/{id}, POST /groups/{id}/action (delete, reset_status, the replication actions) and
// POST /groups/action (create-from-src, 3.14), as Cinder's api/v3/groups.py and
// group/api.py. A group is written together with its create_group cast (to the scheduler,
// which places it, or, for a group made from a source, to the source's backend); updates
// and deletes with their cast to the group's backend, which finishes them.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// groupStore is what this area needs of the database.
type groupStore interface {
	GetGroupType(ctx context.Context, id string) (*resource.GroupType, error)
	GetGroupTypeByName(ctx context.Context, name string) (*resource.GroupType, error)
	CreateGroup(ctx context.Context, g *resource.Group, members []*resource.Volume, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	CreateGroupInError(ctx context.Context, g *resource.Group, members []*resource.Volume, msg *resource.Message) error
	GetGroup(ctx context.Context, id string) (*resource.Group, error)
	ListGroups(ctx context.Context, f resource.GroupFilter) ([]*resource.Group, error)
	ListGroupVolumes(ctx context.Context, groupID string) ([]*resource.Volume, error)
	GroupVolumeIDs(ctx context.Context, groupIDs []string) (map[string][]string, error)
	GroupSnapshotSource(ctx context.Context, id string) (*resource.GroupSnapshot, []*resource.Snapshot, error)
	UpdateGroup(ctx context.Context, id string, name, description *string) (*resource.Group, error)
	StartGroupUpdate(ctx context.Context, id string, name, description *string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	ResetGroupStatus(ctx context.Context, id, status string) error
	StartGroupDelete(ctx context.Context, id string, deleteVolumes bool, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	DestroyGroup(ctx context.Context, id string, from []string, onlyUnplaced bool) error
}

// Microversions at which groups change (3.13, the groups API itself, is mvGroupVolume;
// 3.14, create-from-src and the group_snapshot_id and source_group_id fields, is
// mvGroupSnapshots).
var (
	mvGroupResetStatus = wire.Version{Major: 3, Minor: 20} // reset_status
	mvGroupVolumeList  = wire.Version{Major: 3, Minor: 25} // list_volume
	mvGroupReplication = wire.Version{Major: 3, Minor: 38} // replication actions; replication_status
	mvGroupProjectID   = wire.Version{Major: 3, Minor: 58} // project_id
)

// Cinder's group policy rules.
const (
	policyGroupGetAll      = "group:get_all"
	policyGroupCreate      = "group:create"
	policyGroupGet         = "group:get"
	policyGroupUpdate      = "group:update"
	policyGroupAttributes  = "group:group_project_attribute"
	policyGroupDelete      = "group:delete"
	policyGroupResetStatus = "group:reset_status"
)

// groupActionRules names Cinder's rule of each POST /groups/{id}/action.
var groupActionRules = map[string]string{
	"delete":                   policyGroupDelete,
	"reset_status":             policyGroupResetStatus,
	"enable_replication":       "group:enable_replication",
	"disable_replication":      "group:disable_replication",
	"failover_replication":     "group:failover_replication",
	"list_replication_targets": "group:list_replication_targets",
}

// groupRoutes registers this area's routes; before 3.13 they answer Cinder's 404.
func (s *server) groupRoutes(api route) {
	gate := func(h wire.HandlerFunc) wire.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			if !wire.VersionOf(r.Context()).AtLeast(mvGroupVolume) {
				return wire.NotFound(wire.MsgResourceNotFound)
			}
			return h(w, r)
		}
	}
	api("/groups", http.MethodGet, gate(func(w http.ResponseWriter, r *http.Request) error { return s.groupList(w, r, false) }))
	api("/groups", http.MethodPost, gate(s.createGroup))
	api("/groups/detail", http.MethodGet, gate(func(w http.ResponseWriter, r *http.Request) error { return s.groupList(w, r, true) }))
	api("/groups/action", http.MethodPost, gate(s.groupCollectionAction))
	api("/groups/{group_id}", http.MethodGet, gate(s.showGroup))
	api("/groups/{group_id}", http.MethodPut, gate(s.updateGroup))
	api("/groups/{group_id}/action", http.MethodPost, gate(s.groupAction))
}

// groupView is Cinder's group view; the summary (create, GET /groups) has id and name only.
type groupView struct {
	ID                string         `json:"id"`
	Status            string         `json:"status,omitempty"`
	AvailabilityZone  opt[string]    `json:"availability_zone,omitzero"`
	CreatedAt         opt[timestamp] `json:"created_at,omitzero"`
	Name              *string        `json:"name"`
	Description       opt[*string]   `json:"description,omitzero"`
	GroupType         opt[string]    `json:"group_type,omitzero"`
	VolumeTypes       opt[[]string]  `json:"volume_types,omitzero"`
	GroupSnapshotID   opt[*string]   `json:"group_snapshot_id,omitzero"` // 3.14
	SourceGroupID     opt[*string]   `json:"source_group_id,omitzero"`   // 3.14
	Volumes           opt[[]string]  `json:"volumes,omitzero"`           // 3.25, list_volume
	ReplicationStatus opt[*string]   `json:"replication_status,omitzero"`
	ProjectID         opt[string]    `json:"project_id,omitzero"` // 3.58, group:group_project_attribute
}

func groupSummary(g *resource.Group) groupView {
	return groupView{ID: g.ID, Name: nullable(g.Name)}
}

// groupDetail is the detailed view; volumes, when non-nil, are its volumes' ids (list_volume).
func (vw viewer) groupDetail(g *resource.Group, volumes []string, showProject bool) groupView {
	d := groupSummary(g)
	d.Status = g.Status
	d.AvailabilityZone = some(g.AvailabilityZone)
	d.CreatedAt = some(timestamp(g.CreatedAt))
	d.Description = some(nullable(g.Description))
	d.GroupType = some(g.GroupTypeID)
	types := g.VolumeTypeIDs
	if types == nil {
		types = []string{}
	}
	d.VolumeTypes = some(types)
	if vw.mv.AtLeast(mvGroupSnapshots) {
		d.GroupSnapshotID = some(nullable(g.GroupSnapshotID))
		d.SourceGroupID = some(nullable(g.SourceGroupID))
	}
	if volumes != nil && vw.mv.AtLeast(mvGroupVolumeList) {
		d.Volumes = some(volumes)
	}
	if vw.mv.AtLeast(mvGroupReplication) {
		d.ReplicationStatus = some(nullable(g.ReplicationStatus))
	}
	if showProject && vw.mv.AtLeast(mvGroupProjectID) {
		d.ProjectID = some(g.ProjectID)
	}
	return d
}

// getGroup reads a group the caller may see and decides the endpoint's rule on it; anything
// else is Cinder's 404. A group of the type reserved for migrated consistency groups is
// refused as Cinder does.
func (s *server) getGroup(ctx context.Context, id string) (*resource.Group, error) {
	g, err := s.lookupGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	if f := s.checkDefaultCGSnapshotType(ctx, g.GroupTypeID); f != nil {
		return nil, f
	}
	return g, nil
}

// lookupGroup is getGroup without the consistency group refusal: the /consistencygroups
// API's group_api.get, which serves groups of every type.
func (s *server) lookupGroup(ctx context.Context, id string) (*resource.Group, error) {
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "Group", id)
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && g.ProjectID != rc.ProjectID {
		return nil, &resource.NotFoundError{Kind: "Group", ID: id}
	}
	if err := decideOn(ctx, "Group", id, g.ProjectID); err != nil {
		return nil, err
	}
	return g, nil
}

// checkDefaultCGSnapshotType refuses the group type Cinder reserves for consistency groups
// migrated to groups.
func (s *server) checkDefaultCGSnapshotType(ctx context.Context, groupTypeID string) *wire.Fault {
	if s.isDefaultCGSnapshotType(ctx, groupTypeID) {
		return wire.BadRequest("Group_type %s is reserved for migrating CGs to groups. Migrated group can only be operated by CG APIs.", groupTypeID)
	}
	return nil
}

func (s *server) isDefaultCGSnapshotType(ctx context.Context, groupTypeID string) bool {
	gt, err := s.store.GetGroupType(ctx, groupTypeID)
	return err == nil && gt.Name == resource.DefaultCGSnapshotTypeName
}

// showGroup is GET /groups/{id}; with list_volume (3.25) it lists the group's volumes.
func (s *server) showGroup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	listVolumes, f := groupListVolumes(q)
	if f != nil {
		return f
	}
	g, err := s.getGroup(ctx, mux.Vars(r)["group_id"])
	if err != nil {
		return err
	}
	var vols []string
	if listVolumes && wire.VersionOf(ctx).AtLeast(mvGroupVolumeList) {
		ids, err := s.store.GroupVolumeIDs(ctx, []string{g.ID})
		if err != nil {
			return err
		}
		vols = ids[g.ID]
		if vols == nil {
			vols = []string{}
		}
	}
	showProject := allowedIn(ctx, policyGroupAttributes, reqctx.From(ctx).ProjectID)
	wire.WriteJSON(w, http.StatusOK, map[string]any{"group": newViewer(r).groupDetail(g, vols, showProject)})
	return nil
}

// groupListVolumes reads the list_volume parameter (Cinder's get_bool_param: absent is false).
func groupListVolumes(q wire.Query) (bool, *wire.Fault) {
	v, ok := q.Get("list_volume")
	if !ok {
		return false, nil
	}
	return wire.ParseBoolParam("list_volume", v)
}

// resolveGroupType finds a group type by id or by name, as Cinder's group create does (a
// UUID that names no type may still be a type's name).
func (s *server) resolveGroupType(ctx context.Context, ident string) (*resource.GroupType, error) {
	if wire.IsUUIDLike(ident) {
		gt, err := s.store.GetGroupType(ctx, ident)
		if errors.Is(err, resource.ErrNotFound) {
			gt, err = s.store.GetGroupTypeByName(ctx, ident)
		}
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("Group type %s could not be found.", ident)
		}
		return gt, err
	}
	gt, err := s.store.GetGroupTypeByName(ctx, ident)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, wire.NotFound("Group type with name %s could not be found.", ident)
	}
	return gt, err
}

// resolveGroupVolumeType finds a volume type by name or id, as Cinder's
// volume_types_get_by_name_or_id (no access check: Cinder elevates for it).
func (s *server) resolveGroupVolumeType(ctx context.Context, ident string) (*resource.VolumeType, error) {
	vt, err := s.store.GetVolumeTypeByName(ctx, ident)
	if errors.Is(err, resource.ErrNotFound) && wire.IsUUIDLike(ident) {
		vt, err = s.store.GetVolumeType(ctx, ident)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("Volume type %s could not be found.", ident)
		}
	}
	if errors.Is(err, resource.ErrNotFound) {
		return nil, wire.NotFound("Volume type with name %s could not be found.", ident)
	}
	return vt, err
}

// createGroup is POST /groups: the group (creating), its quota and the create_group cast
// to the scheduler, in one transaction.
func (s *server) createGroup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	req, f := parseGroupCreate(body)
	if f != nil {
		return f
	}
	gt, err := s.resolveGroupType(ctx, req.groupType)
	if err != nil {
		return err
	}
	if gt.Name == resource.DefaultCGSnapshotTypeName {
		return s.checkDefaultCGSnapshotType(ctx, gt.ID)
	}
	g, err := s.startGroupCreate(ctx, gt, req.name, req.description, req.volumeTypes, req.availabilityZone)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"group": groupSummary(g)})
	return nil
}

// startGroupCreate is Cinder's group_api.create, shared by POST /groups and POST
// /consistencygroups: the group of type gt (creating), its quota and the create_group cast
// to the scheduler, in one transaction. volumeTypes are names or ids; az "" is the default.
func (s *server) startGroupCreate(ctx context.Context, gt *resource.GroupType, name, description *string, volumeTypes []string, az string) (*resource.Group, error) {
	rc := reqctx.From(ctx)
	var typeIDs []string
	for _, ident := range volumeTypes {
		vt, err := s.resolveGroupVolumeType(ctx, ident)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(typeIDs, vt.ID) {
			typeIDs = append(typeIDs, vt.ID)
		}
	}
	if az == "" {
		az = s.defaultAZ
	}
	if !s.knownZone(az) {
		return nil, wire.InvalidInput("Availability zone '%s' is invalid.", az)
	}
	g := &resource.Group{
		ID: uuid.NewString(), ProjectID: rc.ProjectID, UserID: rc.UserID, AvailabilityZone: az,
		GroupTypeID: gt.ID, VolumeTypeIDs: typeIDs, Status: resource.GroupStatusCreating,
		ReplicationStatus: "disabled",
	}
	if name != nil {
		g.Name = *name
	}
	if description != nil {
		g.Description = *description
	}
	msg, err := rpcapi.Outbox(rc, rpcapi.SchedulerTarget(), rpcapi.CreateGroup, rpcapi.GroupArgs{GroupID: g.ID})
	if err != nil {
		return nil, err
	}
	msgs, err := s.store.CreateGroup(ctx, g, nil, msg)
	if err != nil {
		return nil, err
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_id": g.ID, "group_type_id": gt.ID, "volume_types": typeIDs}).Info("group create accepted")
	return g, nil
}

// updateGroup is PUT /groups/{id}: name and description at once; volumes added and removed
// by the group's backend, the group updating meanwhile.
func (s *server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	req, f := parseGroupUpdate(body)
	if f != nil {
		return f
	}
	g, err := s.getGroup(ctx, mux.Vars(r)["group_id"])
	if err != nil {
		return err
	}
	if err := s.applyGroupUpdate(ctx, g, req); err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// applyGroupUpdate is Cinder's group_api.update.
func (s *server) applyGroupUpdate(ctx context.Context, g *resource.Group, req *groupUpdate) error {
	name, description := req.name, req.description
	if name != nil && *name == g.Name {
		name = nil
	}
	if description != nil && *description == g.Description {
		description = nil
	}
	add, remove := splitVolumeList(req.addVolumes), splitVolumeList(req.removeVolumes)
	var both []string
	for _, id := range add {
		if slices.Contains(remove, id) {
			both = append(both, id)
		}
	}
	if len(both) > 0 {
		return wire.BadRequest("Invalid volume: UUIDs %s are in both add and remove volume list.", pyList(both))
	}
	members, err := s.store.ListGroupVolumes(ctx, g.ID)
	if err != nil {
		return err
	}
	addNew, err := s.validateAddVolumes(ctx, g, members, add)
	if err != nil {
		return err
	}
	removeNew, err := validateRemoveVolumes(g, members, remove)
	if err != nil {
		return err
	}
	log := reqctx.Log(ctx, s.log).WithField("group_id", g.ID)
	if name == nil && description == nil && len(addNew) == 0 && len(removeNew) == 0 {
		return wire.BadRequest("Invalid Group: Cannot update group %s because no valid name, description, add_volumes, or remove_volumes were provided.", g.ID)
	}
	if len(addNew) == 0 && len(removeNew) == 0 {
		if _, err := s.store.UpdateGroup(ctx, g.ID, name, description); err != nil {
			return wire.NotFoundAs(err, "Group", g.ID)
		}
		log.Info("group renamed")
		return nil
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(g.Host), rpcapi.UpdateGroup,
		rpcapi.UpdateGroupArgs{GroupID: g.ID, AddVolumes: addNew, RemoveVolumes: removeNew})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartGroupUpdate(ctx, g.ID, name, description, msg)
	if errors.Is(err, resource.ErrInvalidState) {
		return wire.BadRequest("Invalid Group: Group status must be available.")
	}
	if err != nil {
		return wire.NotFoundAs(err, "Group", g.ID)
	}
	s.dispatch(ctx, msgs)
	log.WithFields(map[string]any{"add_volumes": addNew, "remove_volumes": removeNew}).Info("group update accepted")
	return nil
}

// splitVolumeList splits Cinder's comma-separated add_volumes/remove_volumes.
func splitVolumeList(s *string) []string {
	if s == nil {
		return nil
	}
	t := strings.Trim(*s, ",")
	if t == "" {
		return nil
	}
	return strings.Split(t, ",")
}

// validateAddVolumes is Cinder's _validate_add_volumes: the volumes that will join.
func (s *server) validateAddVolumes(ctx context.Context, g *resource.Group, members []*resource.Volume, add []string) ([]string, error) {
	var out []string
	for _, id := range add {
		if slices.ContainsFunc(members, func(v *resource.Volume) bool { return v.ID == id }) || slices.Contains(out, id) {
			continue // already in the group
		}
		refuse := func(format string, args ...any) error {
			return wire.BadRequest("Invalid volume: Cannot add volume %s to group %s "+format, append([]any{id, g.ID}, args...)...)
		}
		v, err := s.store.GetVolume(ctx, id)
		if errors.Is(err, resource.ErrNotFound) || (err == nil && !reqctx.From(ctx).IsAdmin && v.ProjectID != reqctx.From(ctx).ProjectID) {
			return nil, refuse("because volume cannot be found.")
		}
		if err != nil {
			return nil, err
		}
		switch {
		case v.GroupID != "":
			return nil, refuse("because it is already in group %s.", v.GroupID)
		case v.ProjectID != g.ProjectID:
			return nil, refuse("as they belong to different projects.")
		case v.VolumeTypeID == "":
			return nil, refuse("because it has no volume type.")
		case !slices.Contains(g.VolumeTypeIDs, v.VolumeTypeID):
			return nil, refuse("because volume type %s is not supported by the group.", v.VolumeTypeID)
		case !slices.Contains(resource.GroupAddVolumeStatuses, v.Status):
			return nil, refuse("because volume is in an invalid state: %s. Valid states are: %s.", v.Status, pyTuple(resource.GroupAddVolumeStatuses))
		case rpcapi.BackendHost(v.Host) != rpcapi.BackendHost(g.Host) || g.Host == "":
			return nil, wire.BadRequest("Invalid volume: Volume is not local to this node.")
		}
		out = append(out, id)
	}
	return out, nil
}

// validateRemoveVolumes is Cinder's _validate_remove_volumes: the volumes that will leave.
func validateRemoveVolumes(g *resource.Group, members []*resource.Volume, remove []string) ([]string, error) {
	var out []string
	for _, v := range members {
		if !slices.Contains(remove, v.ID) {
			continue
		}
		if !slices.Contains(resource.GroupRemoveVolumeStatuses, v.Status) {
			return nil, wire.BadRequest("Invalid volume: Cannot remove volume %s from group %s because volume is in an invalid state: %s. Valid states are: %s.",
				v.ID, g.ID, v.Status, pyTuple(resource.GroupRemoveVolumeStatuses))
		}
		out = append(out, v.ID)
	}
	for _, id := range remove {
		if !slices.Contains(out, id) {
			return nil, wire.BadRequest("Invalid volume: Cannot remove volume %s from group %s because it is not in the group.", id, g.ID)
		}
	}
	return out, nil
}

// groupAction is POST /groups/{id}/action.
func (s *server) groupAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	name := o.Keys[0]
	args, _ := o.Get(name)
	id := mux.Vars(r)["group_id"]
	mv := wire.VersionOf(ctx)
	if rule, ok := groupActionRules[name]; ok {
		deferRule(r, rule)
	}
	var res any
	switch {
	case name == "delete":
		err = s.deleteGroup(r, id, args)
	case name == "reset_status" && mv.AtLeast(mvGroupResetStatus):
		err = s.resetGroupStatus(ctx, id, args)
	case (name == "enable_replication" || name == "disable_replication" || name == "failover_replication" ||
		name == "list_replication_targets") && mv.AtLeast(mvGroupReplication):
		res, err = s.groupReplication(ctx, id, name, args)
	case groupActionRules[name] != "":
		err = wire.NotFound(wire.MsgResourceNotFound) // an action of a later microversion
	default:
		err = wire.BadRequest("There is no such action: %s", name)
	}
	if err != nil {
		return err
	}
	if res != nil {
		wire.WriteJSON(w, http.StatusOK, res)
		return nil
	}
	wire.WriteAccepted(w)
	return nil
}

// deleteGroup is the delete action: Cinder's group_api.delete. Once the delete of a group's
// volumes is accepted, their encryption keys go as a single volume's do (deleteVolumeKey,
// with the caller's token: the volume service has none).
func (s *server) deleteGroup(r *http.Request, id string, args any) error {
	ctx := r.Context()
	o, f := wire.RequireObject("delete", args)
	if f != nil {
		return f
	}
	deleteVolumes := false
	if v, ok := o.Get("delete-volumes"); ok {
		if deleteVolumes, f = checkBoolean("delete-volumes", v); f != nil {
			return f
		}
	}
	if f := wire.CheckAdditional("delete", o, "delete-volumes"); f != nil {
		return f
	}
	g, err := s.getGroup(ctx, id)
	if err != nil {
		return err
	}
	return s.startGroupDeleteOf(r, g, deleteVolumes)
}

// startGroupDeleteOf is Cinder's group_api.delete of g, shared with the /consistencygroups
// delete (whose force is deleteVolumes): an unplaced group goes at once, else the group is
// deleting with its delete_group cast to its backend.
func (s *server) startGroupDeleteOf(r *http.Request, g *resource.Group, deleteVolumes bool) error {
	ctx, id := r.Context(), g.ID
	log := reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_id": g.ID, "delete_volumes": deleteVolumes})
	if g.Host == "" {
		// Not placed: nothing on any backend; the row goes now, with its quota.
		err := s.store.DestroyGroup(ctx, g.ID, nil, true)
		if err == nil {
			log.Info("unplaced group deleted")
			return nil
		}
		if !errors.Is(err, resource.ErrInvalidState) {
			return groupDeleteFault(err, g.ID)
		}
		if g, err = s.store.GetGroup(ctx, id); err != nil { // placed meanwhile
			return wire.NotFoundAs(err, "Group", id)
		}
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(g.Host), rpcapi.DeleteGroup, rpcapi.GroupArgs{GroupID: g.ID})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartGroupDelete(ctx, g.ID, deleteVolumes, msg)
	if err != nil {
		return groupDeleteFault(err, g.ID)
	}
	s.dispatch(ctx, msgs)
	if deleteVolumes {
		members, err := s.store.ListGroupVolumes(ctx, g.ID)
		if err != nil {
			log.WithError(err).Error("could not list the group's volumes to delete their keys: keys kept")
		}
		for _, v := range members {
			s.deleteVolumeKey(r, v)
		}
	}
	log.Info("group delete accepted")
	return nil
}

// groupDeleteFault words the store's refusal of a group delete as Cinder does.
func groupDeleteFault(err error, id string) error {
	var de *resource.GroupDeleteError
	if errors.As(err, &de) {
		return wire.BadRequest("Invalid Group: %s", de.Reason)
	}
	return wire.NotFoundAs(err, "Group", id)
}

// resetGroupStatus is reset_status (3.20, admin): any of Cinder's group statuses.
func (s *server) resetGroupStatus(ctx context.Context, id string, args any) error {
	o, f := wire.RequireObject("reset_status", args)
	if f != nil {
		return f
	}
	raw, ok := o.Get("status")
	if !ok {
		return wire.SchemaError("reset_status", o, "'status' is a required property")
	}
	if f := wire.CheckType("status", raw, "string"); f != nil {
		return f
	}
	if f := wire.CheckAdditional("reset_status", o, "status"); f != nil {
		return f
	}
	status := strings.ToLower(raw.(string))
	if !slices.Contains(resource.GroupStatuses, status) {
		return wire.SchemaError("status", raw, wire.PyRepr(raw)+" is not a 'group_status'")
	}
	if _, err := s.getGroup(ctx, id); err != nil {
		return err
	}
	if err := s.store.ResetGroupStatus(ctx, id, status); err != nil {
		return wire.NotFoundAs(err, "Group", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_id": id, "status": status}).Info("group status reset")
	return nil
}

// groupReplication answers the replication actions (3.38) as Cinder does for a group whose
// type is not replication-enabled: Scoria has no replication, so no group is.
func (s *server) groupReplication(ctx context.Context, id, action string, args any) (any, error) {
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return nil, f
	}
	if action == "failover_replication" {
		if v, ok := o.Get("allow_attached_volume"); ok {
			if _, f := checkBoolean("allow_attached_volume", v); f != nil {
				return nil, f
			}
		}
		if v, ok := o.Get("secondary_backend_id"); ok {
			if f := wire.CheckType("secondary_backend_id", v, "string", "null"); f != nil {
				return nil, f
			}
		}
		if f := wire.CheckAdditional(action, o, "allow_attached_volume", "secondary_backend_id"); f != nil {
			return nil, f
		}
	}
	g, err := s.getGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	gt, err := s.store.GetGroupType(ctx, g.GroupTypeID)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return nil, err
	}
	if gt == nil || !isTrueSpec(gt.GroupSpecs["group_replication_enabled"]) {
		return nil, wire.BadRequest("Invalid group type: Group %s is not a replication group type.", g.ID)
	}
	for _, tid := range g.VolumeTypeIDs {
		vt, err := s.store.GetVolumeType(ctx, tid)
		if err != nil && !errors.Is(err, resource.ErrNotFound) {
			return nil, err
		}
		if vt == nil || !isTrueSpec(vt.ExtraSpecs["replication_enabled"]) {
			return nil, wire.BadRequest("Invalid volume type: Volume type %s does not have 'replication_enabled' spec key set to '<is> True'.", tid)
		}
	}
	return nil, wire.BadRequest("Invalid group type: Group %s: Scoria's backends do not replicate, so group replication is not available.", g.ID)
}

// isTrueSpec is Cinder's is_replicated_spec test: "<is> True".
func isTrueSpec(v string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(v), " "), "<is> true")
}

// checkVolumeGroup is Cinder's check of a volume created into a group (group_id, 3.13, or
// consistencygroup_id): the group (of any type: Cinder's group_api.get) must be the
// caller's, and the volume's type one of the group's types.
func (s *server) checkVolumeGroup(ctx context.Context, groupID string, vt *resource.VolumeType) error {
	g, err := s.lookupGroup(ctx, groupID)
	if err != nil {
		return err
	}
	if vt == nil || !slices.Contains(g.VolumeTypeIDs, vt.ID) {
		name := ""
		if vt != nil {
			name = vt.Name
		}
		return wire.InvalidInput("Invalid volume_type provided: %s (requested type must be supported by this group).", name)
	}
	return nil
}
