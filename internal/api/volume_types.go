package api

// Volume types (GET/POST /types, GET/PUT/DELETE /types/{id}), their extra specs
// (/types/{id}/extra_specs) and private type access (/types/{id}/action,
// /types/{id}/os-volume-type-access), as Cinder's types, types_manage, types_extra_specs and
// volume_type_access controllers serve them. Default types (3.62) are in default_types.go,
// QoS specs in qos.go, GET /extensions in extensions.go.

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// typeStore is what this area needs of the database.
type typeStore interface {
	ListVolumeTypes(ctx context.Context, f resource.VolumeTypeFilter) ([]*resource.VolumeType, error)
	CreateVolumeType(ctx context.Context, t *resource.VolumeType) error
	UpdateVolumeType(ctx context.Context, id string, u resource.VolumeTypeUpdate) (*resource.VolumeType, error)
	DeleteVolumeType(ctx context.Context, id string) error
	VolumeTypeInUse(ctx context.Context, id string) (bool, error)
	SetVolumeTypeExtraSpecs(ctx context.Context, id string, specs map[string]string) error
	DeleteVolumeTypeExtraSpec(ctx context.Context, id, key string) error

	ListVolumeTypeAccess(ctx context.Context, id string) ([]string, error)
	HasVolumeTypeAccess(ctx context.Context, id, project string) (bool, error)
	AddVolumeTypeAccess(ctx context.Context, id, project string) error
	RemoveVolumeTypeAccess(ctx context.Context, id, project string) error

	SetProjectDefaultType(ctx context.Context, project, typeID string) error
	GetProjectDefaultType(ctx context.Context, project string) (*resource.ProjectDefaultType, error)
	ListProjectDefaultTypes(ctx context.Context) ([]*resource.ProjectDefaultType, error)
	DeleteProjectDefaultType(ctx context.Context, project string) error

	qosStore
}

// Policy rules of this area that Cinder's default policy keeps to admins.
const (
	policyTypeCreate         = "volume_extension:type_create"
	policyTypeUpdate         = "volume_extension:type_update"
	policyTypeDelete         = "volume_extension:type_delete"
	policyExtraSpecsCreate   = "volume_extension:types_extra_specs:create"
	policyExtraSpecsUpdate   = "volume_extension:types_extra_specs:update"
	policyExtraSpecsDelete   = "volume_extension:types_extra_specs:delete"
	policyTypeAccessAdd      = "volume_extension:volume_type_access:addProjectAccess"
	policyTypeAccessRemove   = "volume_extension:volume_type_access:removeProjectAccess"
	policyTypeAccessForType  = "volume_extension:volume_type_access:get_all_for_type"
	policyDefaultSetOrUpdate = "volume_extension:default_set_or_update"
	policyDefaultGet         = "volume_extension:default_get"
	policyDefaultGetAll      = "volume_extension:default_get_all"
	policyDefaultUnset       = "volume_extension:default_unset"
)

// userVisibleExtraSpecs are the extra specs anyone who sees extra specs sees (Cinder's
// USER_VISIBLE_EXTRA_SPECS; the rest needs volume_extension:types_extra_specs:read_sensitive,
// admin_api by default).
var userVisibleExtraSpecs = []string{"RESKEY:availability_zones", "multiattach", "replication_enabled"}

// typeRoutes registers this area's routes.
func (s *server) typeRoutes(api route) {
	api("/types", http.MethodGet, s.listTypes)
	api("/types", http.MethodPost, s.createType)
	api("/types/{type_id}", http.MethodGet, s.showType)
	api("/types/{type_id}", http.MethodPut, s.updateType)
	api("/types/{type_id}", http.MethodDelete, s.deleteType)
	api("/types/{type_id}/action", http.MethodPost, s.typeAction)
	api("/types/{type_id}/os-volume-type-access", http.MethodGet, s.listTypeAccess)
	api("/types/{type_id}/extra_specs", http.MethodGet, s.listExtraSpecs)
	api("/types/{type_id}/extra_specs", http.MethodPost, s.createExtraSpecs)
	api("/types/{type_id}/extra_specs/{key}", http.MethodGet, s.showExtraSpec)
	api("/types/{type_id}/extra_specs/{key}", http.MethodPut, s.updateExtraSpec)
	api("/types/{type_id}/extra_specs/{key}", http.MethodDelete, s.deleteExtraSpec)
	s.defaultTypeRoutes(api)
	s.qosRoutes(api)
	s.encryptionRoutes(api)
	api("/extensions", http.MethodGet, newExtensionLister(s).list)
}

// typeView is a type as GET /types and GET /types/{id} show it (Cinder's
// cinder/api/v2/views/types.py and the volume_type_access extension): extra_specs,
// qos_specs_id and os-volume-type-access:is_public each as its policy rule allows.
type typeView struct {
	ID          string                 `json:"id"`
	Name        string                 `json:"name"`
	IsPublic    bool                   `json:"is_public"`
	Description *string                `json:"description"`
	ExtraSpecs  opt[map[string]string] `json:"extra_specs,omitzero"`
	QoSSpecsID  opt[*string]           `json:"qos_specs_id,omitzero"`
	Access      opt[bool]              `json:"os-volume-type-access:is_public,omitzero"`
}

// typeManageView is a type as POST /types answers it (Cinder's older view: no qos_specs_id);
// PUT answers it without the access attribute.
type typeManageView struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Description *string           `json:"description"`
	Access      *bool             `json:"os-volume-type-access:is_public,omitempty"`
}

// visibleSpecs is what of specs the caller may see: all of them when
// volume_extension:types_extra_specs:read_sensitive allows (sensitive), else the user-visible
// ones.
func visibleSpecs(sensitive bool, specs map[string]string) map[string]string {
	if sensitive {
		if specs == nil {
			return map[string]string{}
		}
		return specs
	}
	out := map[string]string{}
	for _, k := range userVisibleExtraSpecs {
		if v, ok := specs[k]; ok {
			out[k] = v
		}
	}
	return out
}

// showTypeView is t as the caller may see it, vw deciding the rules; withAccess is false
// where Cinder's volume_type_access extension finds no type to extend (GET /types/default:
// it looks the type up by the id in the URL, "default").
func showTypeView(vw viewer, t *resource.VolumeType, withAccess bool) typeView {
	v := typeView{ID: t.ID, Name: t.Name, IsPublic: t.IsPublic, Description: nullable(t.Description)}
	if vw.may(ruleTypeExtraSpecs) {
		v.ExtraSpecs = some(visibleSpecs(vw.may(ruleTypeSensitiveSpecs), t.ExtraSpecs))
	}
	if vw.may(ruleTypeQoSSpecsID) {
		v.QoSSpecsID = some(nullable(t.QoSSpecsID))
	}
	if withAccess && vw.may(ruleTypeAccess) {
		v.Access = some(t.IsPublic)
	}
	return v
}

// manageTypeView is t as POST and PUT /types answer it (Cinder's cinder/api/views/types.py:
// every extra spec, no qos_specs_id); withAccess adds os-volume-type-access:is_public (POST,
// when volume_extension:volume_type_access allows).
func manageTypeView(t *resource.VolumeType, withAccess bool) typeManageView {
	v := typeManageView{ID: t.ID, Name: t.Name, IsPublic: t.IsPublic, ExtraSpecs: t.ExtraSpecs, Description: nullable(t.Description)}
	if withAccess {
		v.Access = &t.IsPublic
	}
	return v
}

// getType reads type id as the caller may see it: a private type the caller's project has no
// access to is, for a non-admin, not found, as in Cinder.
func (s *server) getType(ctx context.Context, id string) (*resource.VolumeType, error) {
	t, err := s.store.GetVolumeType(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "VolumeType", id)
	}
	if err := s.checkTypeAccess(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// checkTypeAccess answers Cinder's VolumeTypeNotFound for a private type the caller may not
// use.
func (s *server) checkTypeAccess(ctx context.Context, t *resource.VolumeType) error {
	rc := reqctx.From(ctx)
	if t.IsPublic || rc.IsAdmin {
		return nil
	}
	ok, err := s.store.HasVolumeTypeAccess(ctx, t.ID, rc.ProjectID)
	if err != nil {
		return err
	}
	if !ok {
		return &resource.NotFoundError{Kind: "VolumeType", ID: t.ID}
	}
	return nil
}

// defaultType is the type a project's volumes get when they name none: the project's default
// (3.62), else default_volume_type.
func (s *server) defaultTypeFor(ctx context.Context, project string) (*resource.VolumeType, error) {
	if d, err := s.store.GetProjectDefaultType(ctx, project); err == nil {
		if t, err := s.store.GetVolumeType(ctx, d.VolumeTypeID); err == nil {
			return t, nil
		} else if !errors.Is(err, resource.ErrNotFound) {
			return nil, err
		}
	} else if !errors.Is(err, resource.ErrNotFound) {
		return nil, err
	}
	t, err := s.store.GetVolumeTypeByName(ctx, s.defaultType)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, wire.New(http.StatusInternalServerError,
			"The request cannot be fulfilled as the default volume type %s cannot be found.", s.defaultType)
	}
	return t, err
}

// listTypes is GET /types.
func (s *server) listTypes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	q := r.URL.Query()
	f := resource.VolumeTypeFilter{AccessProject: rc.ProjectID, SortKey: "created_at", SortDesc: true}
	public := true
	f.IsPublic = &public
	if rc.IsAdmin && q.Has("is_public") {
		v := q.Get("is_public")
		switch l := strings.ToLower(v); {
		case l == "none":
			f.IsPublic = nil
		case wire.IsTrue(l):
		case wire.IsFalse(l):
			public = false
		default:
			return wire.BadRequest("Invalid is_public filter [%s]", v)
		}
	}
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return wire.BadRequest("limit param must be an integer")
		}
		if n < 0 {
			return wire.BadRequest("limit param must be positive")
		}
		f.Limit = min(n, s.maxLimit)
	} else {
		f.Limit = s.maxLimit
	}
	f.Marker = q.Get("marker")
	if fl := parseTypeSort(q, &f); fl != nil {
		return fl
	}
	vw := newViewer(r)
	none, fl := typeListFilters(r, vw, &f)
	if fl != nil {
		return fl
	}
	if none {
		wire.WriteJSON(w, http.StatusOK, map[string]any{"volume_types": []typeView{}})
		return nil
	}
	types, err := s.store.ListVolumeTypes(ctx, f)
	if err != nil {
		return err
	}
	out := make([]typeView, 0, len(types))
	for _, t := range types {
		out = append(out, showTypeView(vw, t, true))
	}
	body := map[string]any{"volume_types": out}
	if len(types) > 0 && len(types) == f.Limit && q.Has("limit") {
		var params []wire.QueryParam
		for k, vs := range q {
			for _, v := range vs {
				params = append(params, wire.QueryParam{Key: k, Value: v})
			}
		}
		slices.SortFunc(params, func(a, b wire.QueryParam) int { return strings.Compare(a.Key, b.Key) })
		body["volume_type_links"] = vw.nextLink("types", params, types[len(types)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, body)
	return nil
}

// parseTypeSort reads sort=key[:dir],… or sort_key/sort_dir (Cinder's get_sort_params); a
// type list sorts by its first key, then by id.
func parseTypeSort(q map[string][]string, f *resource.VolumeTypeFilter) *wire.Fault {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	sortSpec, hasSort := get("sort")
	key, hasKey := get("sort_key")
	dir, hasDir := get("sort_dir")
	if hasSort && (hasKey || hasDir) {
		return wire.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	if hasSort {
		first := strings.TrimSpace(strings.Split(sortSpec, ",")[0])
		key, dir, _ = strings.Cut(first, ":")
	}
	key, dir = strings.TrimSpace(key), strings.ToLower(strings.TrimSpace(dir))
	if key != "" {
		if !slices.Contains(resource.VolumeTypeSortKeys, key) {
			return wire.InvalidInput("Invalid sort key")
		}
		f.SortKey = key
	}
	switch dir {
	case "":
	case "asc":
		f.SortDesc = false
	case "desc":
		f.SortDesc = true
	default:
		return wire.InvalidInput("Unknown sort direction, must be 'desc' or 'asc'")
	}
	return nil
}

// showType is GET /types/{id}; /types/default is the caller's default type.
func (s *server) showType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	id := mux.Vars(r)["type_id"]
	var (
		t   *resource.VolumeType
		err error
	)
	if id == "default" {
		t, err = s.defaultTypeFor(ctx, rc.ProjectID)
		var f *wire.Fault
		if errors.As(err, &f) && f.Status == http.StatusInternalServerError {
			err = wire.NotFound("Default volume type can not be found.")
		}
	} else {
		t, err = s.getType(ctx, id)
	}
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": showTypeView(newViewer(r), t, id != "default")})
	return nil
}

// createType is POST /types (admin).
func (s *server) createType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyTypeCreate); f != nil {
		return f
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	t, f := parseTypeCreate(body)
	if f != nil {
		return f
	}
	t.ID = uuid.NewString()
	if err := s.store.CreateVolumeType(ctx, t); err != nil {
		if errors.Is(err, resource.ErrVolumeTypeExists) {
			err = wire.New(http.StatusConflict, "Volume Type %s already exists.", t.Name)
		}
		return err
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_type_id": t.ID, "name": t.Name}).Info("volume type created")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": manageTypeView(t, newViewer(r).may(ruleTypeAccess))})
	return nil
}

// parseTypeCreate checks a create body against Cinder's volume_types.create schema.
func parseTypeCreate(body any) (*resource.VolumeType, *wire.Fault) {
	o, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	if !o.Has("volume_type") {
		return nil, wire.SchemaError("", body, "'volume_type' is a required property")
	}
	if f := wire.CheckAdditional("", o, "volume_type"); f != nil {
		return nil, f
	}
	vt, f := wire.RequireObject("volume_type", o.Vals["volume_type"])
	if f != nil {
		return nil, f
	}
	if !vt.Has("name") {
		return nil, wire.SchemaError("volume_type", vt, "'name' is a required property")
	}
	if f := wire.CheckAdditional("volume_type", vt, "name", "description", "extra_specs", "os-volume-type-access:is_public"); f != nil {
		return nil, f
	}
	name, f := checkTypeName("name", vt.Vals["name"], 1)
	if f != nil {
		return nil, f
	}
	t := &resource.VolumeType{Name: name, IsPublic: true, ExtraSpecs: map[string]string{}}
	if v, ok := vt.Get("description"); ok {
		if f := wire.CheckNullableString("description", v, 0, 255); f != nil {
			return nil, f
		}
		t.Description, _ = v.(string)
	}
	if v, ok := vt.Get("extra_specs"); ok {
		specs, f := checkExtraSpecs("extra_specs", v, true, true)
		if f != nil {
			return nil, f
		}
		if specs != nil {
			t.ExtraSpecs = specs
		}
	}
	if v, ok := vt.Get("os-volume-type-access:is_public"); ok {
		b, f := checkBoolean("os-volume-type-access:is_public", v)
		if f != nil {
			return nil, f
		}
		t.IsPublic = b
	}
	return t, nil
}

// checkTypeName is parameter_types.name (minLen 1) or name_allow_zero_min_length (0): a
// string of at most 255 characters that, when not empty, is not only white space and has
// none around it.
func checkTypeName(field string, v any, minLen int) (string, *wire.Fault) {
	if f := wire.CheckType(field, v, "string"); f != nil {
		return "", f
	}
	s := v.(string)
	if f := wire.CheckLength(field, s, minLen, 255); f != nil {
		return "", f
	}
	if s != "" && (strings.TrimSpace(s) == "" || strings.TrimSpace(s) != s) {
		return "", wire.SchemaError(field, s, "An invalid 'name' value was provided. The name must be: 1) Contains at least one non-whitespace character and 2) The name can not have leading and trailing whitespace.")
	}
	return s, nil
}

// checkBoolean is parameter_types.boolean: a JSON boolean or one of its strings.
func checkBoolean(field string, v any) (bool, *wire.Fault) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		if b, ok := wire.SchemaBool(t); ok {
			return b, nil
		}
	}
	return false, wire.SchemaError(field, v, wire.PyRepr(v)+" is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']")
}

// extraSpecKeyPattern is the key pattern of Cinder's extra specs schemas; without spaces for
// the extra_specs API (extra_specs_with_no_spaces_key).
var (
	extraSpecKeyPattern        = wire.MetadataKeyPattern
	extraSpecKeyNoSpacePattern = regexp.MustCompile(`^[a-zA-Z0-9_:./-]{1,255}$`)
)

// checkExtraSpecs is Cinder's extra_specs_with_null (spaces allowed in keys, null values
// allowed) or extra_specs_with_no_spaces_key: an object of keys matching the pattern whose
// values are strings of at most 255 characters or null (stored as "").
func checkExtraSpecs(field string, v any, allowNull, spaces bool) (map[string]string, *wire.Fault) {
	types := []string{"object"}
	if allowNull {
		types = append(types, "null")
	}
	if f := wire.CheckType(field, v, types...); f != nil {
		return nil, f
	}
	o, ok := v.(*wire.Object)
	if !ok {
		return nil, nil
	}
	pattern, patternPy := extraSpecKeyPattern, wire.MetadataKeyPatternPy
	if !spaces {
		pattern, patternPy = extraSpecKeyNoSpacePattern, `'^[a-zA-Z0-9-_:.]{1,255}$'`
	}
	specs := make(map[string]string, len(o.Keys))
	var bad []string
	for _, k := range o.Keys {
		if !pattern.MatchString(k) {
			bad = append(bad, k)
			continue
		}
		val := o.Vals[k]
		if f := wire.CheckType(k, val, "string", "null"); f != nil {
			return nil, f
		}
		s, _ := val.(string)
		if f := wire.CheckLength(k, s, 0, 255); f != nil {
			return nil, f
		}
		specs[k] = s
	}
	if len(bad) > 0 {
		verb := "does"
		if len(bad) > 1 {
			verb = "do"
		}
		return nil, wire.SchemaError(field, v, wire.PyReprList(bad)+" "+verb+" not match any of the regexes: "+patternPy)
	}
	return specs, nil
}

// updateType is PUT /types/{id} (admin): name, description, is_public.
func (s *server) updateType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyTypeUpdate); f != nil {
		return f
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	u, f := parseTypeUpdate(body)
	if f != nil {
		return f
	}
	t, err := s.store.UpdateVolumeType(ctx, id, u)
	if err != nil {
		if errors.Is(err, resource.ErrVolumeTypeExists) {
			err = wire.New(http.StatusConflict, "Volume Type %s already exists.", *u.Name)
		}
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	reqctx.Log(ctx, s.log).WithField("volume_type_id", id).Info("volume type updated")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": manageTypeView(t, false)})
	return nil
}

// parseTypeUpdate checks an update body against Cinder's volume_types.update schema and the
// controller's own rules; a null name or description keeps what the type has.
func parseTypeUpdate(body any) (resource.VolumeTypeUpdate, *wire.Fault) {
	var u resource.VolumeTypeUpdate
	o, f := wire.RequireObject("", body)
	if f != nil {
		return u, f
	}
	if !o.Has("volume_type") {
		return u, wire.SchemaError("", body, "'volume_type' is a required property")
	}
	if f := wire.CheckAdditional("", o, "volume_type"); f != nil {
		return u, f
	}
	vt, f := wire.RequireObject("volume_type", o.Vals["volume_type"])
	if f != nil {
		return u, f
	}
	if f := wire.CheckAdditional("volume_type", vt, "name", "description", "is_public"); f != nil {
		return u, f
	}
	// parameter_types.update_name: a string of 1 to 255 characters, or null to keep the name
	// (what `cinder type-update --description` and `openstack volume type set` send).
	if v, ok := vt.Get("name"); ok {
		if f := wire.CheckNullableString("name", v, 1, 255); f != nil {
			return u, f
		}
		if name, ok := v.(string); ok {
			if strings.TrimSpace(name) == "" {
				return u, wire.BadRequest("Volume type name can not be empty.")
			}
			u.Name = &name
		}
	}
	if v, ok := vt.Get("description"); ok {
		if f := wire.CheckNullableString("description", v, 0, 255); f != nil {
			return u, f
		}
		if d, ok := v.(string); ok {
			u.Description = &d
		}
	}
	if v, ok := vt.Get("is_public"); ok {
		b, f := checkBoolean("is_public", v)
		if f != nil {
			return u, f
		}
		u.IsPublic = &b
	}
	if u.Name == nil && u.Description == nil && u.IsPublic == nil {
		return u, wire.BadRequest("Specify volume type name, description, is_public or a combination thereof.")
	}
	return u, nil
}

// deleteType is DELETE /types/{id} (admin). A type in use, the configured default type and a
// project's default type are refused as Cinder refuses them.
func (s *server) deleteType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyTypeDelete); f != nil {
		return f
	}
	t, err := s.getType(ctx, id)
	if err != nil {
		return err
	}
	if t.Name == s.defaultType || t.ID == s.defaultType {
		return wire.BadRequest("The volume type %s is a default volume type and cannot be deleted.", t.ID)
	}
	if err := s.store.DeleteVolumeType(ctx, t.ID); err != nil {
		switch {
		case errors.Is(err, resource.ErrVolumeTypeInUse):
			err = wire.BadRequest("Target volume type is still in use.")
		case errors.Is(err, resource.ErrVolumeTypeIsDefault):
			err = wire.BadRequest("The volume type %s is a default volume type and cannot be deleted.", t.ID)
		}
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	reqctx.Log(ctx, s.log).WithField("volume_type_id", t.ID).Info("volume type deleted")
	wire.WriteAccepted(w)
	return nil
}

// typeAction is POST /types/{id}/action: addProjectAccess, removeProjectAccess (admin).
func (s *server) typeAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["type_id"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	action := o.Keys[0]
	policy := policyTypeAccessAdd
	switch action {
	case "addProjectAccess":
	case "removeProjectAccess":
		policy = policyTypeAccessRemove
	default:
		return wire.BadRequest("There is no such action: %s", action)
	}
	if f := authorizeAdmin(r, policy); f != nil {
		return f
	}
	args, f := wire.RequireObject(action, o.Vals[action])
	if f != nil {
		return f
	}
	if !args.Has("project") {
		return wire.SchemaError(action, args, "'project' is a required property")
	}
	if f := wire.CheckAdditional(action, args, "project"); f != nil {
		return f
	}
	pv := args.Vals["project"]
	if f := wire.CheckType("project", pv, "string"); f != nil {
		return f
	}
	project := pv.(string)
	if f := wire.CheckLength("project", project, 1, 255); f != nil {
		return f
	}
	t, err := s.store.GetVolumeType(ctx, id)
	if err != nil {
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	if t.IsPublic {
		return wire.BadRequest("Invalid volume type: Type access modification is not applicable to public volume type.")
	}
	if action == "addProjectAccess" {
		err = s.store.AddVolumeTypeAccess(ctx, id, project)
		if errors.Is(err, resource.ErrAccessExists) {
			err = wire.New(http.StatusConflict, "Volume type access for %s / %s combination already exists.", id, project)
		}
	} else {
		err = s.store.RemoveVolumeTypeAccess(ctx, id, project)
		if errors.Is(err, resource.ErrNotFound) {
			err = wire.NotFound("Volume type access not found for %s / %s combination.", id, project)
		}
	}
	if err != nil {
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_type_id": id, "project": project, "action": action}).Info("volume type access changed")
	wire.WriteAccepted(w)
	return nil
}

// listTypeAccess is GET /types/{id}/os-volume-type-access (admin).
func (s *server) listTypeAccess(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyTypeAccessForType); f != nil {
		return f
	}
	t, err := s.getType(ctx, id)
	if err != nil {
		return err
	}
	if t.IsPublic {
		return wire.NotFound("Access list not available for public volume types.")
	}
	projects, err := s.store.ListVolumeTypeAccess(ctx, id)
	if err != nil {
		return err
	}
	type access struct {
		VolumeTypeID string `json:"volume_type_id"`
		ProjectID    string `json:"project_id"`
	}
	out := make([]access, 0, len(projects))
	for _, p := range projects {
		out = append(out, access{VolumeTypeID: id, ProjectID: p})
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"volume_type_access": out})
	return nil
}
