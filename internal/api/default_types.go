package api

import (
	"errors"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Per-project default volume types (microversion 3.62, /default-types), admin only as in
// Cinder's default policy. A project's default type is what its volumes get when a create
// names no type (resolveVolumeType), ahead of default_volume_type.

// mvDefaultTypeOverrides is the microversion that brings /default-types.
var mvDefaultTypeOverrides = wire.Version{Major: 3, Minor: 62}

func (s *server) defaultTypeRoutes(api route) {
	api("/default-types", http.MethodGet, s.listDefaultTypes)
	api("/default-types/{project}", http.MethodGet, s.showDefaultType)
	api("/default-types/{project}", http.MethodPut, s.setDefaultType)
	api("/default-types/{project}", http.MethodDelete, s.unsetDefaultType)
}

// defaultTypeView is one project's default type.
type defaultTypeView struct {
	ProjectID    string `json:"project_id"`
	VolumeTypeID string `json:"volume_type_id"`
}

// checkDefaultTypes answers what Cinder answers below 3.62 (404) and to non-admins (403).
// Cinder's target is the project of the URL ("" for the list: the caller's).
func checkDefaultTypes(r *http.Request, rule, project string) *wire.Fault {
	if v := wire.VersionOf(r.Context()); !v.AtLeast(mvDefaultTypeOverrides) {
		return wire.NotFound("API version %s is not supported on this method.", v)
	}
	if project == "" {
		return authorizeAdmin(r, rule)
	}
	return authorize(r, rule, project)
}

// setDefaultType is PUT /default-types/{project}: {"default_type": {"volume_type": name or id}}.
func (s *server) setDefaultType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project := mux.Vars(r)["project"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	if f := checkDefaultTypes(r, policyDefaultSetOrUpdate, project); f != nil {
		return f
	}
	o, f := wire.RequireObject("", body)
	if f != nil {
		return f
	}
	if !o.Has("default_type") {
		return wire.SchemaError("", body, "'default_type' is a required property")
	}
	dt, f := wire.RequireObject("default_type", o.Vals["default_type"])
	if f != nil {
		return f
	}
	if !dt.Has("volume_type") {
		return wire.SchemaError("default_type", dt, "'volume_type' is a required property")
	}
	if f := wire.CheckAdditional("default_type", dt, "volume_type"); f != nil {
		return f
	}
	ident, f := checkTypeName("volume_type", dt.Vals["volume_type"], 1)
	if f != nil {
		return f
	}
	t, err := s.typeByNameOrID(r, ident)
	if err != nil {
		// Cinder answers an unknown type here with 400, in VolumeTypeNotFound's words.
		var fl *wire.Fault
		if errors.As(err, &fl) && fl.Status == http.StatusNotFound {
			err = wire.BadRequest("%s", fl.Message)
		}
		return err
	}
	if err := s.store.SetProjectDefaultType(ctx, project, t.ID); err != nil {
		return wire.NotFoundAs(err, "VolumeType", t.ID)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"project": project, "volume_type_id": t.ID}).Info("project default type set")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"default_type": defaultTypeView{ProjectID: project, VolumeTypeID: t.ID}})
	return nil
}

// typeByNameOrID is Cinder's get_by_name_or_id with its not-found messages.
func (s *server) typeByNameOrID(r *http.Request, ident string) (*resource.VolumeType, error) {
	ctx := r.Context()
	if wire.IsUUIDLike(ident) {
		if t, err := s.store.GetVolumeType(ctx, ident); !errors.Is(err, resource.ErrNotFound) {
			return t, err
		}
		t, err := s.store.GetVolumeTypeByName(ctx, ident)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("Volume type %s could not be found.", ident)
		}
		return t, err
	}
	t, err := s.store.GetVolumeTypeByName(ctx, ident)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, wire.NotFound("Volume type with name %s could not be found.", ident)
	}
	return t, err
}

// showDefaultType is GET /default-types/{project}.
func (s *server) showDefaultType(w http.ResponseWriter, r *http.Request) error {
	project := mux.Vars(r)["project"]
	if f := checkDefaultTypes(r, policyDefaultGet, project); f != nil {
		return f
	}
	d, err := s.store.GetProjectDefaultType(r.Context(), project)
	if errors.Is(err, resource.ErrNotFound) {
		err = wire.NotFound("Default type for project %s not found.", project)
	}
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"default_type": defaultTypeView{ProjectID: d.ProjectID, VolumeTypeID: d.VolumeTypeID}})
	return nil
}

// listDefaultTypes is GET /default-types.
func (s *server) listDefaultTypes(w http.ResponseWriter, r *http.Request) error {
	if f := checkDefaultTypes(r, policyDefaultGetAll, ""); f != nil {
		if f.Status == http.StatusForbidden {
			f = wire.New(http.StatusForbidden, "You are not authorized to perform this operation.")
		}
		return f
	}
	list, err := s.store.ListProjectDefaultTypes(r.Context())
	if err != nil {
		return err
	}
	out := make([]defaultTypeView, 0, len(list))
	for _, d := range list {
		out = append(out, defaultTypeView{ProjectID: d.ProjectID, VolumeTypeID: d.VolumeTypeID})
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"default_types": out})
	return nil
}

// unsetDefaultType is DELETE /default-types/{project}: 204, whether one was set or not.
func (s *server) unsetDefaultType(w http.ResponseWriter, r *http.Request) error {
	project := mux.Vars(r)["project"]
	if f := checkDefaultTypes(r, policyDefaultUnset, project); f != nil {
		return f
	}
	if err := s.store.DeleteProjectDefaultType(r.Context(), project); err != nil {
		return err
	}
	reqctx.Log(r.Context(), s.log).WithField("project", project).Info("project default type unset")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
