package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Extra specs of a volume type: /types/{id}/extra_specs[/{key}], as Cinder's
// types_extra_specs controller serves them. Reading is open to all (all keys where
// volume_extension:types_extra_specs:read_sensitive allows, else the user visible keys only);
// changing is for admins, and refused while volumes use the type.

// listExtraSpecs is GET /types/{id}/extra_specs.
func (s *server) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	t, err := s.getType(r.Context(), mux.Vars(r)["type_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": visibleSpecs(newViewer(r).may(ruleTypeSensitiveSpecs), t.ExtraSpecs)})
	return nil
}

// showExtraSpec is GET /types/{id}/extra_specs/{key}.
func (s *server) showExtraSpec(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	t, err := s.getType(r.Context(), vars["type_id"])
	if err != nil {
		return err
	}
	key := vars["key"]
	v, ok := visibleSpecs(newViewer(r).may(ruleTypeSensitiveSpecs), t.ExtraSpecs)[key]
	if !ok {
		return wire.NotFound("Volume Type %s has no extra specs with key %s.", t.ID, key)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

// allowSpecChange refuses, as Cinder does, to change the extra specs of a type in use; a
// missing type is not found.
func (s *server) allowSpecChange(ctx context.Context, id string) error {
	if _, err := s.getType(ctx, id); err != nil {
		return err
	}
	inUse, err := s.store.VolumeTypeInUse(ctx, id)
	if err != nil {
		return err
	}
	if inUse {
		return wire.BadRequest("Volume Type is currently in use.")
	}
	return nil
}

// checkCacheable is Cinder's rule that a type cannot be both cacheable and multiattach.
func checkCacheable(current, specs map[string]string) *wire.Fault {
	const yes = "<is> True"
	merged := map[string]string{"multiattach": current["multiattach"], "cacheable": current["cacheable"]}
	for _, k := range []string{"multiattach", "cacheable"} {
		if v, ok := specs[k]; ok {
			merged[k] = v
		}
	}
	_, setM := specs["multiattach"]
	_, setC := specs["cacheable"]
	if (setM || setC) && merged["multiattach"] == yes && merged["cacheable"] == yes {
		return wire.BadRequest("cacheable cannot be set with multiattach.")
	}
	return nil
}

// createExtraSpecs is POST /types/{id}/extra_specs (admin): sets the given keys, keeps others.
func (s *server) createExtraSpecs(w http.ResponseWriter, r *http.Request) error {

	id := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyExtraSpecsCreate); f != nil {
		return f
	}
	specsBody, err := wire.ReadMember(r, "extra_specs")
	if err != nil {
		return err
	}
	specs, f := checkExtraSpecs("extra_specs", specsBody, false, false)
	if f != nil {
		return f
	}
	return s.setExtraSpecs(w, r, id, specs, map[string]any{"extra_specs": specs})
}

// updateExtraSpec is PUT /types/{id}/extra_specs/{key} (admin): the body is {key: value}.
func (s *server) updateExtraSpec(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	if f := authorizeAdmin(r, policyExtraSpecsUpdate); f != nil {
		return f
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	specs, f := checkExtraSpecs("", body, false, false)
	if f != nil {
		return f
	}
	switch o := body.(*wire.Object); {
	case len(o.Keys) < 1:
		return wire.SchemaError("", body, wire.PyRepr(body)+" does not have enough properties")
	case len(o.Keys) > 1:
		return wire.SchemaError("", body, wire.PyRepr(body)+" has too many properties")
	}
	key := vars["key"]
	if _, ok := specs[key]; !ok {
		return wire.BadRequest("Request body and URI mismatch")
	}
	return s.setExtraSpecs(w, r, vars["type_id"], specs, specs)
}

func (s *server) setExtraSpecs(w http.ResponseWriter, r *http.Request, id string, specs map[string]string, answer any) error {
	ctx := r.Context()
	if err := s.allowSpecChange(ctx, id); err != nil {
		return err
	}
	t, err := s.store.GetVolumeType(ctx, id)
	if err != nil {
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	if f := checkCacheable(t.ExtraSpecs, specs); f != nil {
		return f
	}
	if err := s.store.SetVolumeTypeExtraSpecs(ctx, id, specs); err != nil {
		return wire.NotFoundAs(err, "VolumeType", id)
	}
	reqctx.Log(ctx, s.log).WithField("volume_type_id", id).Info("volume type extra specs set")
	wire.WriteJSON(w, http.StatusOK, answer)
	return nil
}

// deleteExtraSpec is DELETE /types/{id}/extra_specs/{key} (admin).
func (s *server) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vars := mux.Vars(r)
	id, key := vars["type_id"], vars["key"]
	if _, err := s.getType(ctx, id); err != nil {
		return err
	}
	if f := authorizeAdmin(r, policyExtraSpecsDelete); f != nil {
		return f
	}
	if err := s.allowSpecChange(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeleteVolumeTypeExtraSpec(ctx, id, key); err != nil {
		if isNotFound(err) {
			err = wire.NotFound("Volume Type %s has no extra specs with key %s.", id, key)
		}
		return err
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_type_id": id, "key": key}).Info("volume type extra spec deleted")
	wire.WriteAccepted(w)
	return nil
}

func isNotFound(err error) bool {

	return errors.Is(err, resource.ErrNotFound)
}
