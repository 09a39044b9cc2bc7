package api

// Group types (3.11): GET/POST /group_types, GET/PUT/DELETE /group_types/{id}, GET
// /group_types/default, and their group specs (/group_types/{id}/group_specs[/{key}]), as
// Cinder's group_types and group_specs controllers serve them. Cinder has no group type
// access API: a private group type is seen by admins (and by the projects the database gives
// access, which no API grants).

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
)

// groupTypeStore is what this area needs of the database.
type groupTypeStore interface {
	GetGroupType(ctx context.Context, id string) (*resource.GroupType, error)
	GetGroupTypeByName(ctx context.Context, name string) (*resource.GroupType, error)
	ListGroupTypes(ctx context.Context, f resource.GroupTypeFilter) ([]*resource.GroupType, error)
	CreateGroupType(ctx context.Context, t *resource.GroupType) error
	UpdateGroupType(ctx context.Context, id string, u resource.GroupTypeUpdate) (*resource.GroupType, error)
	DeleteGroupType(ctx context.Context, id string) error
	SetGroupTypeSpecs(ctx context.Context, id string, specs map[string]string) error
	DeleteGroupTypeSpec(ctx context.Context, id, key string) error
	HasGroupTypeAccess(ctx context.Context, id, project string) (bool, error)
}

// mvGroupType is the microversion that brought group types.
var mvGroupType = wire.Version{Major: 3, Minor: 11}

// Policy rules of group types (cinder/policies/group_types.py); listing and showing a type
// have none.
const (
	policyGroupTypeCreate     = "group:group_types:create"
	policyGroupTypeUpdate     = "group:group_types:update"
	policyGroupTypeDelete     = "group:group_types:delete"
	policyGroupTypeSpecsShow  = "group:access_group_types_specs"
	policyGroupSpecGet        = "group:group_types_specs:get"
	policyGroupSpecGetAll     = "group:group_types_specs:get_all"
	policyGroupSpecCreate     = "group:group_types_specs:create"
	policyGroupSpecUpdate     = "group:group_types_specs:update"
	policyGroupSpecDelete     = "group:group_types_specs:delete"
	msgDefaultGroupTypeAbsent = "Default group type can not be found."
)

// groupTypeRoutes registers this area's routes. Below 3.11 each answers the 404 Cinder's
// versioned methods answer.
func (s *server) groupTypeRoutes(api route) {
	gate := func(h wire.HandlerFunc) wire.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			if !wire.VersionOf(r.Context()).AtLeast(mvGroupType) {
				return wire.NotFound(wire.MsgResourceNotFound)
			}
			return h(w, r)
		}
	}
	api("/group_types", http.MethodGet, gate(s.listGroupTypes))
	api("/group_types", http.MethodPost, gate(s.createGroupType))
	api("/group_types/{group_type_id}", http.MethodGet, gate(s.showGroupType))
	api("/group_types/{group_type_id}", http.MethodPut, gate(s.updateGroupType))
	api("/group_types/{group_type_id}", http.MethodDelete, gate(s.deleteGroupType))
	api("/group_types/{group_type_id}/group_specs", http.MethodGet, gate(s.listGroupSpecs))
	api("/group_types/{group_type_id}/group_specs", http.MethodPost, gate(s.createGroupSpecs))
	api("/group_types/{group_type_id}/group_specs/{spec_key}", http.MethodGet, gate(s.showGroupSpec))
	api("/group_types/{group_type_id}/group_specs/{spec_key}", http.MethodPut, gate(s.updateGroupSpec))
	api("/group_types/{group_type_id}/group_specs/{spec_key}", http.MethodDelete, gate(s.deleteGroupSpec))
}

// groupTypeView is a group type as Cinder's v3 views/group_types.py shows it: group_specs
// only where group:access_group_types_specs allows.
type groupTypeView struct {
	ID          string                 `json:"id"`
	Name        string                 `json:"name"`
	Description *string                `json:"description"`
	IsPublic    bool                   `json:"is_public"`
	GroupSpecs  opt[map[string]string] `json:"group_specs,omitzero"`
}

// groupTypeViewOf is t as the caller of ctx may see it.
func groupTypeViewOf(ctx context.Context, t *resource.GroupType) groupTypeView {
	v := groupTypeView{ID: t.ID, Name: t.Name, Description: nullable(t.Description), IsPublic: t.IsPublic}
	if allowedIn(ctx, policyGroupTypeSpecsShow, reqctx.From(ctx).ProjectID) {
		specs := t.GroupSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		v.GroupSpecs = some(specs)
	}
	return v
}

// getGroupType reads group type id as the caller may see it: a private type is, for a
// non-admin without access, not found, as Cinder's group_type_get with a user's context.
func (s *server) getGroupType(ctx context.Context, id string) (*resource.GroupType, error) {
	t, err := s.store.GetGroupType(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "GroupType", id)
	}
	rc := reqctx.From(ctx)
	if t.IsPublic || rc.IsAdmin {
		return t, nil
	}
	ok, err := s.store.HasGroupTypeAccess(ctx, t.ID, rc.ProjectID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &resource.NotFoundError{Kind: "GroupType", ID: id}
	}
	return t, nil
}

// listGroupTypes is GET /group_types: public types (and those the caller's project has
// access to); an admin may ask for is_public=false (private only) or none (all).
func (s *server) listGroupTypes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	q, fl := wire.ParseQuery(r.URL.RawQuery)
	if fl != nil {
		return fl
	}
	f, fl := parseGroupTypeList(q, rc.IsAdmin, s.maxLimit)
	if fl != nil {
		return fl
	}
	f.AccessProject = rc.ProjectID
	var types []*resource.GroupType
	if f.Limit > 0 {
		var err error
		if types, err = s.store.ListGroupTypes(ctx, f); err != nil {
			return err
		}
	}
	out := make([]groupTypeView, 0, len(types))
	for _, t := range types {
		out = append(out, groupTypeViewOf(ctx, t))
	}
	body := map[string]any{"group_types": out}
	// Cinder's _get_collection_links: a full page (of limit, or of osapi_max_limit) links on.
	if len(types) > 0 && f.Limit <= len(types) {
		body["group_type_links"] = newViewer(r).nextLink("group_types", q, types[len(types)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, body)
	return nil
}

// parseGroupTypeList reads a group type list's query as Cinder's group_types index does:
// limit, marker, offset, sort (or sort_key/sort_dir) and, for admins, is_public; other
// parameters are ignored.
func parseGroupTypeList(q wire.Query, admin bool, maxLimit int) (resource.GroupTypeFilter, *wire.Fault) {
	var f resource.GroupTypeFilter
	var fl *wire.Fault
	if f.Limit, fl = wire.ParseLimit(q, maxLimit); fl != nil {
		return f, fl
	}
	f.Marker, _ = q.Get("marker")
	if f.Offset, fl = wire.ParseOffset(q); fl != nil {
		return f, fl
	}
	if f.Sort, fl = parseSortSpec(q, func(key string) (string, bool) {
		return key, slices.Contains(resource.GroupTypeSortKeys, key)
	}); fl != nil {
		return f, fl
	}
	public := true
	f.IsPublic = &public
	if v, ok := q.Get("is_public"); ok && admin {
		switch l := strings.ToLower(v); {
		case l == "none":
			f.IsPublic = nil
		case wire.IsTrue(l):
		case wire.IsFalse(l):
			public = false
		default:
			return f, wire.BadRequest("Invalid is_public filter [%s]", v)
		}
	}
	return f, nil
}

// showGroupType is GET /group_types/{id}; /group_types/default is the type default_group_type
// names.
func (s *server) showGroupType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["group_type_id"]
	var (
		t   *resource.GroupType
		err error
	)
	if id == "default" {
		t, err = s.defaultGroupType(ctx)
	} else {
		t, err = s.getGroupType(ctx, id)
	}
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"group_type": groupTypeViewOf(ctx, t)})
	return nil
}

// defaultGroupType is the type default_group_type names; none configured, or none of that
// name, is Cinder's 404.
func (s *server) defaultGroupType(ctx context.Context) (*resource.GroupType, error) {
	if s.defaultGroupTypeName == "" {
		return nil, wire.NotFound(msgDefaultGroupTypeAbsent)
	}
	t, err := s.store.GetGroupTypeByName(ctx, s.defaultGroupTypeName)
	if errors.Is(err, resource.ErrNotFound) {
		reqctx.Log(ctx, s.log).WithField("default_group_type", s.defaultGroupTypeName).
			Warn("default group type not found: check default_group_type")
		return nil, wire.NotFound(msgDefaultGroupTypeAbsent)
	}
	return t, err
}

// createGroupType is POST /group_types (admin): 202 with the type.
func (s *server) createGroupType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	t, f := parseGroupTypeCreate(body)
	if f != nil {
		return f
	}
	if f := authorizeAdmin(r, policyGroupTypeCreate); f != nil {
		return f
	}
	t.ID = uuid.NewString()
	if err := s.store.CreateGroupType(ctx, t); err != nil {
		if errors.Is(err, resource.ErrGroupTypeExists) {
			err = wire.New(http.StatusConflict, "Group Type %s already exists.", t.Name)
		}
		return err
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_type_id": t.ID, "name": t.Name}).Info("group type created")
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"group_type": groupTypeViewOf(ctx, t)})
	return nil
}

// parseGroupTypeCreate checks a create body against Cinder's group_types.create schema.
func parseGroupTypeCreate(body any) (*resource.GroupType, *wire.Fault) {
	o, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	if !o.Has("group_type") {
		return nil, wire.SchemaError("", body, "'group_type' is a required property")
	}
	if f := wire.CheckAdditional("", o, "group_type"); f != nil {
		return nil, f
	}
	gt, f := wire.RequireObject("group_type", o.Vals["group_type"])
	if f != nil {
		return nil, f
	}
	if !gt.Has("name") {
		return nil, wire.SchemaError("group_type", gt, "'name' is a required property")
	}
	if f := wire.CheckAdditional("group_type", gt, "name", "description", "is_public", "group_specs"); f != nil {
		return nil, f
	}
	name, f := checkTypeName("name", gt.Vals["name"], 1)
	if f != nil {
		return nil, f
	}
	t := &resource.GroupType{Name: name, IsPublic: true, GroupSpecs: map[string]string{}}
	if v, ok := gt.Get("description"); ok {
		if f := wire.CheckNullableString("description", v, 0, 255); f != nil {
			return nil, f
		}
		t.Description, _ = v.(string)
	}
	if v, ok := gt.Get("is_public"); ok {
		b, f := checkBoolean("is_public", v)
		if f != nil {
			return nil, f
		}
		t.IsPublic = b
	}
	if v, ok := gt.Get("group_specs"); ok {
		specs, f := wire.CheckMetadata("group_specs", v, true)
		if f != nil {
			return nil, f
		}
		if specs != nil {
			t.GroupSpecs = specs
		}
	}
	return t, nil
}

// updateGroupType is PUT /group_types/{id} (admin): name, description, is_public.
func (s *server) updateGroupType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["group_type_id"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	u, f := parseGroupTypeUpdate(body)
	if f != nil {
		return f
	}
	if f := authorizeAdmin(r, policyGroupTypeUpdate); f != nil {
		return f
	}
	t, err := s.store.UpdateGroupType(ctx, id, u)
	if err != nil {
		if errors.Is(err, resource.ErrGroupTypeExists) {
			err = wire.New(http.StatusConflict, "Group Type %s already exists.", *u.Name)
		}
		return wire.NotFoundAs(err, "GroupType", id)
	}
	reqctx.Log(ctx, s.log).WithField("group_type_id", id).Info("group type updated")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"group_type": groupTypeViewOf(ctx, t)})
	return nil
}

// parseGroupTypeUpdate checks an update body against Cinder's group_types.update schema and
// the controller's rules: a name of only white space is refused, an empty one is taken (as
// Cinder takes it), and one of name, description, is_public must be given.
func parseGroupTypeUpdate(body any) (resource.GroupTypeUpdate, *wire.Fault) {
	var u resource.GroupTypeUpdate
	o, f := wire.RequireObject("", body)
	if f != nil {
		return u, f
	}
	if !o.Has("group_type") {
		return u, wire.SchemaError("", body, "'group_type' is a required property")
	}
	if f := wire.CheckAdditional("", o, "group_type"); f != nil {
		return u, f
	}
	gt, f := wire.RequireObject("group_type", o.Vals["group_type"])
	if f != nil {
		return u, f
	}
	if f := wire.CheckAdditional("group_type", gt, "name", "description", "is_public"); f != nil {
		return u, f
	}
	if v, ok := gt.Get("name"); ok {
		if f := wire.CheckNullableString("name", v, 0, 255); f != nil {
			return u, f
		}
		if name, ok := v.(string); ok {
			if name != "" && strings.TrimSpace(name) == "" {
				return u, wire.BadRequest("Group type name can not be empty.")
			}
			u.Name = &name
		}
	}
	if v, ok := gt.Get("description"); ok {
		if f := wire.CheckNullableString("description", v, 0, 255); f != nil {
			return u, f
		}
		if d, ok := v.(string); ok {
			u.Description = &d
		}
	}
	if v, ok := gt.Get("is_public"); ok {
		b, f := checkBoolean("is_public", v)
		if f != nil {
			return u, f
		}
		u.IsPublic = &b
	}
	if u.Name == nil && u.Description == nil && u.IsPublic == nil {
		return u, wire.BadRequest("Specify group type name, description or a combination thereof.")
	}
	return u, nil
}

// deleteGroupType is DELETE /group_types/{id} (admin); a type a live group has is refused.
func (s *server) deleteGroupType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["group_type_id"]
	if f := authorizeAdmin(r, policyGroupTypeDelete); f != nil {
		return f
	}
	t, err := s.getGroupType(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteGroupType(ctx, t.ID); err != nil {
		if errors.Is(err, resource.ErrGroupTypeInUse) {
			err = wire.BadRequest("Target group type is still in use. Group Type %s deletion is not allowed with groups present with the type.", t.ID)
		}
		return wire.NotFoundAs(err, "GroupType", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_type_id": t.ID, "name": t.Name}).Info("group type deleted")
	wire.WriteAccepted(w)
	return nil
}

// listGroupSpecs is GET /group_types/{id}/group_specs (admin).
func (s *server) listGroupSpecs(w http.ResponseWriter, r *http.Request) error {
	if f := authorizeAdmin(r, policyGroupSpecGetAll); f != nil {
		return f
	}
	t, err := s.getGroupType(r.Context(), mux.Vars(r)["group_type_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"group_specs": t.GroupSpecs})
	return nil
}

// showGroupSpec is GET /group_types/{id}/group_specs/{key} (admin).
func (s *server) showGroupSpec(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	if f := authorizeAdmin(r, policyGroupSpecGet); f != nil {
		return f
	}
	t, err := s.getGroupType(r.Context(), vars["group_type_id"])
	if err != nil {
		return err
	}
	key := vars["spec_key"]
	v, ok := t.GroupSpecs[key]
	if !ok {
		return wire.NotFound("Group Type %s has no extra spec with key %s.", vars["group_type_id"], key)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

// createGroupSpecs is POST /group_types/{id}/group_specs (admin): sets the given keys, keeps
// the others, and answers 202 with the body.
func (s *server) createGroupSpecs(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, f := wire.RequireObject("", body)
	if f != nil {
		return f
	}
	if !o.Has("group_specs") {
		return wire.SchemaError("", body, "'group_specs' is a required property")
	}
	if f := wire.CheckAdditional("", o, "group_specs"); f != nil {
		return f
	}
	specs, f := checkExtraSpecs("group_specs", o.Vals["group_specs"], false, false)
	if f != nil {
		return f
	}
	if f := authorizeAdmin(r, policyGroupSpecCreate); f != nil {
		return f
	}
	answer := map[string]any{"group_specs": specsEcho(o.Vals["group_specs"].(*wire.Object))}
	return s.setGroupSpecs(w, r, specs, http.StatusAccepted, answer)
}

// updateGroupSpec is PUT /group_types/{id}/group_specs/{key} (admin): the body is
// {key: value}, answered back.
func (s *server) updateGroupSpec(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	specs, f := checkExtraSpecs("", body, false, false)
	if f != nil {
		return f
	}
	o := body.(*wire.Object)
	switch {
	case len(o.Keys) < 1:
		return wire.SchemaError("", body, wire.PyRepr(body)+" does not have enough properties")
	case len(o.Keys) > 1:
		return wire.SchemaError("", body, wire.PyRepr(body)+" has too many properties")
	}
	if f := authorizeAdmin(r, policyGroupSpecUpdate); f != nil {
		return f
	}
	if _, err := s.getGroupType(r.Context(), mux.Vars(r)["group_type_id"]); err != nil {
		return err
	}
	if _, ok := specs[mux.Vars(r)["spec_key"]]; !ok {
		return wire.BadRequest("Request body and URI mismatch")
	}
	return s.setGroupSpecs(w, r, specs, http.StatusOK, specsEcho(o))
}

// specsEcho is a specs object as the client sent it (null values stay null), which Cinder
// answers with.
func specsEcho(o *wire.Object) map[string]any {
	out := make(map[string]any, len(o.Keys))
	for _, k := range o.Keys {
		out[k] = o.Vals[k]
	}
	return out
}

func (s *server) setGroupSpecs(w http.ResponseWriter, r *http.Request, specs map[string]string, status int, answer any) error {
	ctx := r.Context()
	id := mux.Vars(r)["group_type_id"]
	if _, err := s.getGroupType(ctx, id); err != nil {
		return err
	}
	if err := s.store.SetGroupTypeSpecs(ctx, id, specs); err != nil {
		return wire.NotFoundAs(err, "GroupType", id)
	}
	reqctx.Log(ctx, s.log).WithField("group_type_id", id).Info("group type specs set")
	wire.WriteJSON(w, status, answer)
	return nil
}

// deleteGroupSpec is DELETE /group_types/{id}/group_specs/{key} (admin).
func (s *server) deleteGroupSpec(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vars := mux.Vars(r)
	id, key := vars["group_type_id"], vars["spec_key"]
	if f := authorizeAdmin(r, policyGroupSpecDelete); f != nil {
		return f
	}
	if _, err := s.getGroupType(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeleteGroupTypeSpec(ctx, id, key); err != nil {
		var nf *resource.NotFoundError
		if errors.As(err, &nf) && nf.Kind == "GroupTypeSpec" {
			err = wire.NotFound("Group Type %s has no specs with key %s.", id, key)
		}
		return wire.NotFoundAs(err, "GroupType", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"group_type_id": id, "key": key}).Info("group type spec deleted")
	wire.WriteAccepted(w)
	return nil
}
