package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// groupList is the body of a group list.
type groupList struct {
	Groups []groupView `json:"groups"`
	Links  []link      `json:"group_links,omitempty"`
}

// groupListParams is what a GET /groups or /groups/detail asks for.
type groupListParams struct {
	filter      resource.GroupFilter
	empty       bool // a filter no group can pass
	listVolumes bool
}

// groupQueryKeys are the parameters of a group list that are not filters.
var groupQueryKeys = map[string]bool{"limit": true, "offset": true, "marker": true, "sort": true,
	"sort_key": true, "sort_dir": true, "list_volume": true}

// parseGroupListParams reads a group list's query as Cinder's _get_groups does: from 3.33 a
// non-admin may filter by name only (resource_filters' "group"); an admin (or anyone before
// 3.33) by any column, a filter on something groups do not have matching nothing.
func (s *server) parseGroupListParams(r *http.Request, q wire.Query) (*groupListParams, *wire.Fault) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	p := &groupListParams{}
	var f *wire.Fault
	if p.filter.Limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return nil, f
	}
	if p.filter.Offset, f = wire.ParseOffset(q); f != nil {
		return nil, f
	}
	if p.filter.Sort, f = parseGroupSort(q); f != nil {
		return nil, f
	}
	p.filter.Marker, _ = q.Get("marker")
	if p.listVolumes, f = groupListVolumes(q); f != nil {
		return nil, f
	}
	filters := map[string]string{}
	for _, kv := range q {
		if !groupQueryKeys[kv.Key] {
			filters[kv.Key] = kv.Value
		}
	}
	if !rc.IsAdmin && mv.AtLeast(mvResourceFilters) {
		var invalid []string
		for k := range filters {
			if k != "name" && k != "all_tenants" {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			sort.Strings(invalid)
			return nil, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	}
	allTenants := false
	if v, ok := filters["all_tenants"]; ok {
		delete(filters, "all_tenants")
		if rc.IsAdmin {
			if allTenants, f = wire.ParseBoolParam("all_tenants", v); f != nil {
				return nil, f
			}
		}
	}
	p.filter.ProjectID = rc.ProjectID
	if allTenants {
		p.filter.ProjectID = filters["project_id"]
	} else if pid, ok := filters["project_id"]; ok && pid != rc.ProjectID {
		p.empty = true
	}
	delete(filters, "project_id")
	for k, v := range filters {
		switch {
		case k == "name":
			p.filter.Name = v
		case k == "status":
			p.filter.Status = v
		case slices.Contains(resource.GroupFilterKeys, k):
			if p.filter.Equal == nil {
				p.filter.Equal = map[string]string{}
			}
			p.filter.Equal[k] = v
		default:
			p.empty = true // Cinder's _process_groups_filters: not a group attribute, no group
		}
	}
	return p, nil
}

// parseGroupSort reads sort (key:dir,…) or sort_key/sort_dir as Cinder's get_sort_params.
func parseGroupSort(q wire.Query) ([]resource.GroupSort, *wire.Fault) {
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
	out := make([]resource.GroupSort, len(keys))
	for i, k := range keys {
		if !slices.Contains(resource.GroupSortKeys, k) {
			return nil, wire.InvalidInput("Invalid sort key")
		}
		d := defaultDir
		if i < len(dirs) {
			d = dirs[i]
		}
		out[i] = resource.GroupSort{Key: k, Desc: d == "desc"}
	}
	return out, nil
}

// groupList is GET /groups (summaries) and GET /groups/detail. Groups of the type reserved
// for migrated consistency groups are left out, as Cinder does.
func (s *server) groupList(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	p, f := s.parseGroupListParams(r, q)
	if f != nil {
		return f
	}
	var groups []*resource.Group
	if !p.empty && p.filter.Limit > 0 {
		var err error
		if groups, err = s.store.ListGroups(ctx, p.filter); err != nil {
			if errors.Is(err, resource.ErrInvalidState) {
				err = wire.InvalidInput("Invalid sort key")
			}
			return err
		}
	}
	fetched := len(groups)
	last := ""
	if fetched > 0 {
		last = groups[fetched-1].ID
	}
	reserved := map[string]bool{}
	groups = slices.DeleteFunc(groups, func(g *resource.Group) bool {
		v, ok := reserved[g.GroupTypeID]
		if !ok {
			v = s.isDefaultCGSnapshotType(ctx, g.GroupTypeID)
			reserved[g.GroupTypeID] = v
		}
		return v
	})
	vw := newViewer(r)
	out := groupList{Groups: make([]groupView, len(groups))}
	var vols map[string][]string
	if detail && p.listVolumes && vw.mv.AtLeast(mvGroupVolumeList) && len(groups) > 0 {
		ids := make([]string, len(groups))
		for i, g := range groups {
			ids[i] = g.ID
		}
		var err error
		if vols, err = s.store.GroupVolumeIDs(ctx, ids); err != nil {
			return err
		}
	}
	showProject := detail && allowedIn(ctx, policyGroupAttributes, reqctx.From(ctx).ProjectID)
	for i, g := range groups {
		if !detail {
			out.Groups[i] = groupSummary(g)
			continue
		}
		var v []string
		if vols != nil || (p.listVolumes && vw.mv.AtLeast(mvGroupVolumeList)) {
			v = vols[g.ID]
			if v == nil {
				v = []string{}
			}
		}
		out.Groups[i] = vw.groupDetail(g, v, showProject)
	}
	if fetched > 0 && p.filter.Limit <= fetched {
		out.Links = vw.nextLink("groups", q, last)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}

// groupCollectionAction is POST /groups/action: create-from-src (3.14).
func (s *server) groupCollectionAction(w http.ResponseWriter, r *http.Request) error {
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
	if name != "create-from-src" {
		return wire.BadRequest("There is no such action: %s", name)
	}
	if !wire.VersionOf(ctx).AtLeast(mvGroupSnapshots) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	args, _ := o.Get(name)
	req, f := parseGroupFromSource(args)
	if f != nil {
		return f
	}
	g, err := s.createGroupFromSource(r, req, false)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"group": groupSummary(g)})
	return nil
}

// createGroupFromSource is Cinder's create_from_src: a group of the source's type, zone,
// volume types and backend, with a member volume made from each volume of the source group
// (a clone) or each snapshot of the group snapshot, written with the groups and volumes
// quota, each member's capacity claim on that pool and encryption key id, and the
// create_group cast to that backend in one transaction. Each member of an encrypted type
// gets a copy of its source's key, as a single clone does. When the pool cannot hold the
// members (Cinder's validate_host_capacity) the group and its members are written in error
// with a user message, and the request is refused as Cinder does. cg is the
// /consistencygroups create_from_src, which takes sources of every group type.
func (s *server) createGroupFromSource(r *http.Request, req *groupFromSource, cg bool) (*resource.Group, error) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	var (
		src     *resource.Group
		members []*resource.Volume
	)
	newMember := func(size int, typeID string) *resource.Volume {
		return &resource.Volume{ID: uuid.NewString(), ProjectID: rc.ProjectID, UserID: rc.UserID, Size: size,
			Status: resource.StatusCreating, AttachStatus: resource.AttachDetached, VolumeTypeID: typeID,
			Metadata: map[string]string{}}
	}
	if req.groupSnapshotID != "" {
		gs, snaps, err := s.store.GroupSnapshotSource(ctx, req.groupSnapshotID)
		if err == nil && !rc.IsAdmin && gs.ProjectID != rc.ProjectID {
			err = resource.ErrNotFound
		}
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("GroupSnapshot %s could not be found.", req.groupSnapshotID)
		}
		if err != nil {
			return nil, err
		}
		if f := s.checkDefaultCGSnapshotType(ctx, gs.GroupTypeID); f != nil && !cg {
			return nil, f
		}
		if src, err = s.store.GetGroup(ctx, gs.GroupID); err != nil {
			return nil, wire.NotFound("GroupSnapshot %s could not be found.", req.groupSnapshotID)
		}
		if len(snaps) == 0 {
			return nil, wire.BadRequest("Invalid Group: Group snapshot is empty. No group will be created.")
		}
		for _, sn := range snaps {
			if sn.Status != resource.SnapshotAvailable {
				return nil, wire.BadRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values")
			}
			m := newMember(sn.Size, sn.VolumeTypeID)
			m.SnapshotID = sn.ID
			members = append(members, m)
		}
	} else {
		get := s.getGroup
		if cg {
			get = s.lookupGroup
		}
		var err error
		if src, err = get(ctx, req.sourceGroupID); err != nil {
			return nil, err
		}
		vols, err := s.store.ListGroupVolumes(ctx, src.ID)
		if err != nil {
			return nil, err
		}
		if len(vols) == 0 {
			return nil, wire.BadRequest("Invalid Group: Source Group is empty. No group will be created.")
		}
		for _, v := range vols {
			if v.Status != resource.StatusAvailable && v.Status != resource.StatusInUse {
				return nil, wire.BadRequest("Invalid volume: Volume %s status must be available or in-use, but current status is: %s.", v.ID, v.Status)
			}
			m := newMember(v.Size, v.VolumeTypeID)
			m.SourceVolID = v.ID
			members = append(members, m)
		}
	}
	if src.Host == "" {
		return nil, wire.BadRequest("Invalid Group: No valid host to create group %s.", src.ID)
	}
	g := &resource.Group{
		ID: uuid.NewString(), ProjectID: rc.ProjectID, UserID: rc.UserID, AvailabilityZone: src.AvailabilityZone,
		Host: src.Host, GroupTypeID: src.GroupTypeID, VolumeTypeIDs: src.VolumeTypeIDs,
		Status: resource.GroupStatusCreating, GroupSnapshotID: req.groupSnapshotID, SourceGroupID: req.sourceGroupID,
		ReplicationStatus: "disabled",
	}
	if req.name != nil {
		g.Name = *req.name
	}
	if req.description != nil {
		g.Description = *req.description
	}
	for _, m := range members {
		m.Host, m.AvailabilityZone = src.Host, src.AvailabilityZone
	}
	msg, err := rpcapi.Outbox(rc, rpcapi.VolumeTarget(g.Host), rpcapi.CreateGroup, rpcapi.GroupArgs{GroupID: g.ID})
	if err != nil {
		return nil, err
	}
	forgetKeys := func() {
		for _, m := range members {
			s.forgetVolumeKey(r, m)
			m.EncryptionKeyID = ""
		}
	}
	for _, m := range members {
		if m.VolumeTypeID == "" {
			continue
		}
		if err := s.newVolumeKey(r, m, &resource.VolumeType{ID: m.VolumeTypeID}); err != nil {
			forgetKeys()
			return nil, err
		}
	}
	msgs, err := s.store.CreateGroup(ctx, g, members, msg)
	if errors.Is(err, resource.ErrGroupNoRoom) {
		forgetKeys()
		return nil, s.refuseGroupNoRoom(ctx, g, members)
	}
	if err != nil {
		forgetKeys()
		return nil, err
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_id": g.ID, "source_group_id": req.sourceGroupID,
		"group_snapshot_id": req.groupSnapshotID, "volumes": len(members)}).Info("group create from source accepted")
	return g, nil
}

// refuseGroupNoRoom writes group g and its members in error with a user message, when the
// group's pool cannot hold the members, and answers Cinder's refusal.
func (s *server) refuseGroupNoRoom(ctx context.Context, g *resource.Group, members []*resource.Volume) error {
	size := 0
	for _, m := range members {
		size += m.Size
	}
	rc := reqctx.From(ctx)
	um := &resource.Message{ProjectID: g.ProjectID, RequestID: rc.RequestID, ResourceType: resource.MessageResourceGroup,
		ResourceUUID: g.ID, ActionID: resource.ActionUnknown, DetailID: resource.DetailNoBackendAvailable,
		Detail: fmt.Sprintf("No valid host to create group %s: pool %s cannot hold its %d volumes (%d GiB).", g.ID, g.Host, len(members), size)}
	log := reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_id": g.ID, "host": g.Host, "size": size})
	if err := s.store.CreateGroupInError(ctx, g, members, um); err != nil {
		log.WithError(err).Error("could not record the group that found no room")
	} else {
		log.Warn("group create from source: no room on the source's pool; group and members in error")
	}
	return wire.BadRequest("Invalid Group: No valid host to create group %s.", g.ID)
}
