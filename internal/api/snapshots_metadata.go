package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
)

// Snapshot metadata, as Cinder's snapshot_metadata controller: POST merges, PUT replaces,
// PUT /metadata/{key} sets one item, DELETE /metadata/{key} removes one.

// showSnapshotMetadata is GET /snapshots/{id}/metadata.
func (s *server) showSnapshotMetadata(w http.ResponseWriter, r *http.Request) error {
	sn, err := s.getSnapshot(r.Context(), mux.Vars(r)["snapshot_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": sn.Metadata})
	return nil
}

// mergeSnapshotMetadata is POST /snapshots/{id}/metadata: add or overwrite items.
func (s *server) mergeSnapshotMetadata(w http.ResponseWriter, r *http.Request) error {
	return s.writeSnapshotMetadata(w, r, false)
}

// replaceSnapshotMetadata is PUT /snapshots/{id}/metadata: the body becomes all metadata.
func (s *server) replaceSnapshotMetadata(w http.ResponseWriter, r *http.Request) error {
	return s.writeSnapshotMetadata(w, r, true)
}

func (s *server) writeSnapshotMetadata(w http.ResponseWriter, r *http.Request, replace bool) error {
	ctx := r.Context()
	id := mux.Vars(r)["snapshot_id"]
	md, _, f := parseMetadataBody(r, "metadata")
	if f != nil {
		return f
	}
	if _, err := s.getSnapshot(ctx, id); err != nil {
		return err
	}
	all, err := s.store.SetSnapshotMetadata(ctx, id, md, replace)
	if err != nil {
		return wire.NotFoundAs(err, "Snapshot", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": all})
	return nil
}

// showSnapshotMetadataItem is GET /snapshots/{id}/metadata/{key}.
func (s *server) showSnapshotMetadataItem(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	sn, err := s.getSnapshot(r.Context(), vars["snapshot_id"])
	if err != nil {
		return err
	}
	v, ok := sn.Metadata[vars["key"]]
	if !ok {
		return wire.NotFound("Snapshot %s has no metadata with key %s.", sn.ID, vars["key"])
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{vars["key"]: v}})
	return nil
}

// setSnapshotMetadataItem is PUT /snapshots/{id}/metadata/{key}: {"meta": {key: value}}.
func (s *server) setSnapshotMetadataItem(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vars := mux.Vars(r)
	id, key := vars["snapshot_id"], vars["key"]
	md, _, f := parseMetadataBody(r, "meta")
	if f != nil {
		return f
	}
	if _, ok := md[key]; !ok {
		return wire.BadRequest("Request body and URI mismatch")
	}
	if len(md) > 1 {
		return wire.BadRequest("Request body contains too many items")
	}
	if _, err := s.getSnapshot(ctx, id); err != nil {
		return err
	}
	if _, err := s.store.SetSnapshotMetadata(ctx, id, md, false); err != nil {
		return wire.NotFoundAs(err, "Snapshot", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"meta": md})
	return nil
}

// deleteSnapshotMetadataItem is DELETE /snapshots/{id}/metadata/{key}: 200, empty body.
func (s *server) deleteSnapshotMetadataItem(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vars := mux.Vars(r)
	id, key := vars["snapshot_id"], vars["key"]
	if _, err := s.getSnapshot(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeleteSnapshotMetadata(ctx, id, key); err != nil {
		return snapshotMetadataFault(err, id, key)
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}
