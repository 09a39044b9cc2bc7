package api

import (
	"errors"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/resource"
)

// The user metadata of a volume: GET/POST/PUT /volumes/{id}/metadata and
// GET/PUT/DELETE /volumes/{id}/metadata/{key}, as Cinder's volume_metadata controller.

// showVolumeMetadata is GET /volumes/{id}/metadata.
func (s *server) showVolumeMetadata(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["volume_id"]
	md, err := s.userMetadata(r, id)
	if err != nil {
		return err
	}
	if wire.VersionOf(r.Context()).AtLeast(mvETags) {
		writeMetadataWithETag(w, md)
		return nil
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

// createVolumeMetadata is POST /volumes/{id}/metadata: merge.
func (s *server) createVolumeMetadata(w http.ResponseWriter, r *http.Request) error {
	return s.writeVolumeMetadata(w, r, false)
}

// replaceVolumeMetadata is PUT /volumes/{id}/metadata: replace all.
func (s *server) replaceVolumeMetadata(w http.ResponseWriter, r *http.Request) error {
	return s.writeVolumeMetadata(w, r, true)
}

// parseMetadataBody validates {"<member>": metadata or null} as Cinder's volume_metadata
// schemas (create, update) do.
func parseMetadataBody(r *http.Request, member string) (map[string]string, *wire.Object, error) {
	body, err := wire.ReadBody(r)
	if err != nil {
		return nil, nil, err
	}
	o, f := wire.RequireObject("", body)
	if f != nil {
		return nil, nil, f
	}
	v, ok := o.Get(member)
	if !ok {
		return nil, nil, wire.SchemaError("", o, wire.PyStrRepr(member)+" is a required property")
	}
	md, f := wire.CheckMetadata(member, v, true)
	if f != nil {
		return nil, nil, f
	}
	if f := wire.CheckAdditional("", o, member); f != nil {
		return nil, nil, f
	}
	if md == nil {
		md = map[string]string{}
	}
	inner, _ := v.(*wire.Object)
	return md, inner, nil
}

func (s *server) writeVolumeMetadata(w http.ResponseWriter, r *http.Request, replace bool) error {
	ctx := r.Context()
	id := mux.Vars(r)["volume_id"]
	md, _, err := parseMetadataBody(r, "metadata")
	if err != nil {
		return err
	}
	if replace {
		if ok, err := s.metadataPreconditionOK(w, r, id); !ok {
			return err
		}
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	all, err := s.store.UpdateVolumeMetadata(ctx, resource.UserMetadata, id, md, replace, resource.VolumeStatusRule{Not: metadataLockedStatuses})
	if err != nil {
		return wire.NotFoundAs(metadataStateError(err, "Updating"), "Volume", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": all})
	return nil
}

// metadataKeyNotFound is Cinder's VolumeMetadataNotFound.
func metadataKeyNotFound(id, key string) *wire.Fault {
	return wire.NotFound("Volume %s has no metadata with key %s.", id, key)
}

// showVolumeMetadataItem is GET /volumes/{id}/metadata/{key}.
func (s *server) showVolumeMetadataItem(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, key := mux.Vars(r)["volume_id"], mux.Vars(r)["key"]
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	md, err := s.store.VolumeMetadata(ctx, resource.UserMetadata, id)
	if err != nil {
		return wire.NotFoundAs(err, "Volume", id)
	}
	v, ok := md[key]
	if !ok {
		return metadataKeyNotFound(id, key)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: v}})
	return nil
}

// updateVolumeMetadataItem is PUT /volumes/{id}/metadata/{key} with {"meta": {key: value}}.
func (s *server) updateVolumeMetadataItem(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, key := mux.Vars(r)["volume_id"], mux.Vars(r)["key"]
	md, _, err := parseMetadataBody(r, "meta")
	if err != nil {
		return err
	}
	if ok, err := s.metadataPreconditionOK(w, r, id); !ok {
		return err
	}
	if _, ok := md[key]; !ok {
		return wire.BadRequest("Request body and URI mismatch")
	}
	if len(md) > 1 {
		return wire.BadRequest("Request body contains too many items")
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	if _, err := s.store.UpdateVolumeMetadata(ctx, resource.UserMetadata, id, md, false, resource.VolumeStatusRule{Not: metadataLockedStatuses}); err != nil {
		return wire.NotFoundAs(metadataStateError(err, "Updating"), "Volume", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"meta": md})
	return nil
}

// deleteVolumeMetadataItem is DELETE /volumes/{id}/metadata/{key}: 200 with no body.
func (s *server) deleteVolumeMetadataItem(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, key := mux.Vars(r)["volume_id"], mux.Vars(r)["key"]
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	err := s.store.DeleteVolumeMetadataKey(ctx, resource.UserMetadata, id, key, resource.VolumeStatusRule{Not: metadataLockedStatuses})
	var nf *resource.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "MetadataKey" {
		err = metadataKeyNotFound(id, key)
	}
	if err != nil {
		return wire.NotFoundAs(metadataStateError(err, "Deleting"), "Volume", id)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}
