package api

// /consistencygroups, which Cinder Zed still routes (the deprecated consistencygroups
// extension, every microversion), served as Cinder's CG→group migration left it: a
// consistency group is a generic group of the type default_cgsnapshot_type, created,
// updated, deleted and copied by the same group logic as /groups (groups.go,
// groups_list.go); only the bodies and views are the CG API's.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/resource"
)

// consistencygroupRoutes registers /consistencygroups.
func (s *server) consistencygroupRoutes(api route) {
	api("/consistencygroups", http.MethodGet, func(w http.ResponseWriter, r *http.Request) error { return s.cgList(w, r, false) })
	api("/consistencygroups", http.MethodPost, s.createCG)
	api("/consistencygroups/detail", http.MethodGet, func(w http.ResponseWriter, r *http.Request) error { return s.cgList(w, r, true) })
	api("/consistencygroups/create_from_src", http.MethodPost, s.createCGFromSource)
	api("/consistencygroups/{consistencygroup_id}", http.MethodGet, s.showCG)
	// Cinder's routes mapper serves update and delete on the member too (PUT, as
	// python-cinderclient's consisgroup-update sends, and DELETE).
	api("/consistencygroups/{consistencygroup_id}", http.MethodPut, s.updateCG)
	api("/consistencygroups/{consistencygroup_id}", http.MethodDelete, s.deleteCG)
	api("/consistencygroups/{consistencygroup_id}/update", http.MethodPut, s.updateCG)
	api("/consistencygroups/{consistencygroup_id}/delete", http.MethodPost, s.deleteCG)
}

// cgView is Cinder's consistencygroup view (views/consistencygroups.py): id and name in
// summaries, all of it in the detail.
type cgView struct {
	ID               string         `json:"id"`
	Status           opt[string]    `json:"status,omitzero"`
	AvailabilityZone opt[string]    `json:"availability_zone,omitzero"`
	CreatedAt        opt[timestamp] `json:"created_at,omitzero"`
	Name             *string        `json:"name"`
	Description      opt[*string]   `json:"description,omitzero"`
	VolumeTypes      opt[[]string]  `json:"volume_types,omitzero"`
}

func cgSummary(g *resource.Group) cgView { return cgView{ID: g.ID, Name: nullable(g.Name)} }

func cgDetail(g *resource.Group) cgView {
	v := cgSummary(g)
	types := g.VolumeTypeIDs
	if types == nil {
		types = []string{}
	}
	v.Status, v.AvailabilityZone, v.CreatedAt = some(g.Status), some(g.AvailabilityZone), some(timestamp(g.CreatedAt))
	v.Description, v.VolumeTypes = some(nullable(g.Description)), some(types)
	return v
}

// cgBody reads the object under key of a CG body (Cinder's loose CG schemas: other keys
// are allowed) and checks its name and description.
func cgBody(body any, key string) (*wire.Object, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	raw, ok := top.Get(key)
	if !ok {
		return nil, wire.SchemaError("", body, wire.PyStrRepr(key)+" is a required property")
	}
	o, f := wire.RequireObject(key, raw)
	if f != nil {
		return nil, f
	}
	for _, k := range []string{"name", "description"} {
		if v, ok := o.Get(k); ok {
			if f := wire.CheckNullableString(k, v, 0, 255); f != nil {
				return nil, f
			}
		}
	}
	return o, nil
}

// cgString is an optional string member of a CG body: Cinder's clean_name_and_description
// strips name and description; a null or absent member is nil.
func cgString(o *wire.Object, key string) (*string, *wire.Fault) {
	v, ok := o.Get(key)
	if !ok || v == nil {
		return nil, nil
	}
	if f := wire.CheckType(key, v, "string"); f != nil {
		return nil, f
	}
	if key == "name" || key == "description" {
		return wire.Stripped(v), nil
	}
	s := v.(string)
	return &s, nil
}

// cgNameDescription reads the stripped name and description of a CG body.
func cgNameDescription(o *wire.Object) (name, description *string, f *wire.Fault) {
	if name, f = cgString(o, "name"); f != nil {
		return nil, nil, f
	}
	description, f = cgString(o, "description")
	return name, description, f
}

// pyName is name as Cinder's messages print it (%s of None is "None").
func pyName(name *string) string {
	if name == nil {
		return "None"
	}
	return *name
}

// createCG is POST /consistencygroups: a group of default_cgsnapshot_type with the
// comma-separated volume_types.
func (s *server) createCG(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	g, err := func() (*resource.Group, error) {
		body, err := wire.ReadBody(r)
		if err != nil {
			return nil, err
		}
		o, f := cgBody(body, "consistencygroup")
		if f != nil {
			return nil, f
		}
		name, description, f := cgNameDescription(o)
		if f != nil {
			return nil, f
		}
		raw, _ := o.Get("volume_types")
		types, _ := raw.(string)
		if types == "" {
			return nil, wire.BadRequest("volume_types must be provided to create consistency group %s.", pyName(name))
		}
		az, f := cgString(o, "availability_zone")
		if f != nil {
			return nil, f
		}
		gt, err := s.store.GetGroupTypeByName(ctx, resource.DefaultCGSnapshotTypeName)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.BadRequest("Group type %s not found. Rerun migration script to create the default cgsnapshot type.", resource.DefaultCGSnapshotTypeName)
		}
		if err != nil {
			return nil, err
		}
		zone := ""
		if az != nil {
			zone = *az
		}
		return s.startGroupCreate(ctx, gt, name, description, strings.Split(strings.TrimRight(types, ","), ","), zone)
	}()
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"consistencygroup": cgSummary(g)})
	return nil
}

// createCGFromSource is POST /consistencygroups/create_from_src: a copy of a CG snapshot
// (cgsnapshot_id) or of a CG (source_cgid), by the groups' create-from-src.
func (s *server) createCGFromSource(w http.ResponseWriter, r *http.Request) error {
	g, err := func() (*resource.Group, error) {
		body, err := wire.ReadBody(r)
		if err != nil {
			return nil, err
		}
		o, f := cgBody(body, "consistencygroup-from-src")
		if f != nil {
			return nil, f
		}
		req := &groupFromSource{}
		if req.name, req.description, f = cgNameDescription(o); f != nil {
			return nil, f
		}
		// python-cinderclient sends the source it was not given as null.
		for _, k := range []string{"cgsnapshot_id", "source_cgid"} {
			if v, ok := o.Get(k); ok {
				if f := wire.CheckType(k, v, "string", "null"); f != nil {
					return nil, f
				}
			}
		}
		snap, _ := o.Get("cgsnapshot_id")
		src, _ := o.Get("source_cgid")
		req.groupSnapshotID, _ = snap.(string)
		req.sourceGroupID, _ = src.(string)
		switch {
		case req.groupSnapshotID == "" && req.sourceGroupID == "":
			return nil, wire.BadRequest("Either 'cgsnapshot_id' or 'source_cgid' must be provided to create consistency group %s from source.", pyName(req.name))
		case req.groupSnapshotID != "" && req.sourceGroupID != "":
			return nil, wire.BadRequest("Cannot provide both 'cgsnapshot_id' and 'source_cgid' to create consistency group %s from source.", pyName(req.name))
		}
		return s.createGroupFromSource(r, req, true)
	}()
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"consistencygroup": cgSummary(g)})
	return nil
}

// showCG is GET /consistencygroups/{id}.
func (s *server) showCG(w http.ResponseWriter, r *http.Request) error {
	g, err := s.lookupGroup(r.Context(), mux.Vars(r)["consistencygroup_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"consistencygroup": cgDetail(g)})
	return nil
}

// updateCG is PUT /consistencygroups/{id}/update: the groups' update with Cinder's CG body.
func (s *server) updateCG(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	err := func() error {
		body, err := wire.ReadBody(r)
		if err != nil {
			return err
		}
		o, f := cgBody(body, "consistencygroup")
		if f != nil {
			return f
		}
		req := &groupUpdate{}
		if req.name, req.description, f = cgNameDescription(o); f != nil {
			return f
		}
		if req.addVolumes, f = cgString(o, "add_volumes"); f != nil {
			return f
		}
		if req.removeVolumes, f = cgString(o, "remove_volumes"); f != nil {
			return f
		}
		g, err := s.lookupGroup(ctx, mux.Vars(r)["consistencygroup_id"])
		if err != nil {
			return err
		}
		empty := func(p *string) bool { return p == nil || *p == "" }
		if empty(req.name) && empty(req.description) && empty(req.addVolumes) && empty(req.removeVolumes) {
			return wire.BadRequest("Name, description, add_volumes, and remove_volumes can not be all empty in the request body.")
		}
		return s.applyGroupUpdate(ctx, g, req)
	}()
	if err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// deleteCG is POST /consistencygroups/{id}/delete: the groups' delete, force deleting the
// CG's volumes too. The body is optional (null, {} or {"consistencygroup": {"force": b}}).
func (s *server) deleteCG(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["consistencygroup_id"]
	err := func() error {
		body, err := wire.ReadBody(r)
		if err != nil {
			return err
		}
		force, f := parseCGDelete(body)
		if f != nil {
			return f
		}
		g, err := s.lookupGroup(ctx, id)
		if err != nil {
			return err
		}
		return s.startGroupDeleteOf(r, g, force)
	}()
	if err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// parseCGDelete validates a CG delete body against Cinder's oneOf schema.
func parseCGDelete(body any) (bool, *wire.Fault) {
	if body == nil {
		return false, nil
	}
	top, ok := body.(*wire.Object)
	if !ok {
		return false, wire.SchemaError("", body, wire.PyRepr(body)+" is not valid under any of the given schemas")
	}
	raw, ok := top.Get("consistencygroup")
	if !ok {
		if len(top.Keys) == 0 {
			return false, nil
		}
		return false, wire.SchemaError("", body, wire.PyRepr(body)+" is not valid under any of the given schemas")
	}
	o, ok := raw.(*wire.Object)
	if !ok {
		return false, wire.SchemaError("", body, wire.PyRepr(body)+" is not valid under any of the given schemas")
	}
	v, ok := o.Get("force")
	if !ok {
		return false, nil
	}
	force, f := checkBoolean("force", v)
	if f != nil {
		return false, wire.SchemaError("", body, wire.PyRepr(body)+" is not valid under any of the given schemas")
	}
	return force, nil
}

// cgList is GET /consistencygroups and /detail: the caller's groups of every type (Cinder's
// group_api.get_all), paged and filtered as group lists are.
func (s *server) cgList(w http.ResponseWriter, r *http.Request, detail bool) error {
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
	out := struct {
		CGs   []cgView `json:"consistencygroups"`
		Links []link   `json:"consistencygroup_links,omitempty"`
	}{CGs: make([]cgView, len(groups))}
	for i, g := range groups {
		if detail {
			out.CGs[i] = cgDetail(g)
		} else {
			out.CGs[i] = cgSummary(g)
		}
	}
	if n := len(groups); n > 0 && p.filter.Limit <= n {
		out.Links = newViewer(r).nextLink("consistencygroups", q, groups[n-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}
