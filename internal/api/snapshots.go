package api

// Snapshots: POST/GET /snapshots, GET /snapshots/detail, GET/PUT/DELETE /snapshots/{id}, their
// metadata (snapshots_metadata.go), their actions and a volume's revert
// (snapshots_actions.go). A snapshot is written together with the cast to the volume
// service of its volume's backend, which finishes it (TransitionSnapshot/DestroySnapshot).

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// snapshotStore is what this area needs of the database.
type snapshotStore interface {
	CreateSnapshot(ctx context.Context, sn *resource.Snapshot, volumeFrom []string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error)
	ListSnapshots(ctx context.Context, f resource.SnapshotFilter) ([]*resource.Snapshot, error)
	CountSnapshots(ctx context.Context, f resource.SnapshotFilter) (int, error)
	UpdateSnapshot(ctx context.Context, id string, u resource.SnapshotUpdate) (*resource.Snapshot, error)
	SetSnapshotMetadata(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error)
	DeleteSnapshotMetadata(ctx context.Context, id, key string) error
	ResetSnapshotStatus(ctx context.Context, id, status string) error
	UpdateSnapshotStatus(ctx context.Context, id, from, status, progress string) error
	TransitionSnapshot(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	DestroySnapshot(ctx context.Context, id string, from []string) error
	StartVolumeDelete(ctx context.Context, d resource.VolumeDelete, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	StartRevert(ctx context.Context, volumeID, snapshotID string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
}

// Microversions at which snapshots change.
var (
	mvGroupSnapshotID   = wire.Version{Major: 3, Minor: 14} // detail view: group_snapshot_id
	mvSnapshotMetaQuery = wire.Version{Major: 3, Minor: 22} // list filter: metadata
	mvSnapshotSort      = wire.Version{Major: 3, Minor: 30} // sort by name
	mvVolumeRevert      = wire.Version{Major: 3, Minor: 40} // POST /volumes/{id}/action revert
	mvSnapshotUserID    = wire.Version{Major: 3, Minor: 41} // detail view: user_id
	mvSnapshotInUse     = wire.Version{Major: 3, Minor: 66} // in-use volumes without force; force=false refused
)

// Policy rules of the snapshot admin actions, named as in Cinder.
const (
	policySnapshotResetStatus = "volume_extension:snapshot_admin_actions:reset_status"
	policySnapshotForceDelete = "volume_extension:snapshot_admin_actions:force_delete"
)

const msgSnapshotInUseFlag = "Since microversion 3.66 the 'force' flag is invalid for this request.  " +
	"For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored."

// snapshotRoutes registers this area's routes.
func (s *server) snapshotRoutes(api route) {
	api("/snapshots", http.MethodGet, s.listSnapshots)
	api("/snapshots", http.MethodPost, s.createSnapshot)
	api("/snapshots/detail", http.MethodGet, s.listSnapshotsDetail)
	api("/snapshots/{snapshot_id}", http.MethodGet, s.showSnapshot)
	api("/snapshots/{snapshot_id}", http.MethodPut, s.updateSnapshot)
	api("/snapshots/{snapshot_id}", http.MethodDelete, s.deleteSnapshot)
	api("/snapshots/{snapshot_id}/action", http.MethodPost, s.snapshotAction)
	api("/snapshots/{snapshot_id}/metadata", http.MethodGet, s.showSnapshotMetadata)
	api("/snapshots/{snapshot_id}/metadata", http.MethodPost, s.mergeSnapshotMetadata)
	api("/snapshots/{snapshot_id}/metadata", http.MethodPut, s.replaceSnapshotMetadata)
	api("/snapshots/{snapshot_id}/metadata/{key}", http.MethodGet, s.showSnapshotMetadataItem)
	api("/snapshots/{snapshot_id}/metadata/{key}", http.MethodPut, s.setSnapshotMetadataItem)
	api("/snapshots/{snapshot_id}/metadata/{key}", http.MethodDelete, s.deleteSnapshotMetadataItem)
}

// snapshotVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) snapshotVolumeActions() map[string]volumeAction {
	return map[string]volumeAction{"revert": s.revertVolume}
}

// snapshotView is Cinder's snapshot view, members in Cinder's order.
type snapshotView struct {
	ID          string            `json:"id"`
	CreatedAt   timestamp         `json:"created_at"`
	UpdatedAt   *timestamp        `json:"updated_at"`
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	VolumeID    string            `json:"volume_id"`
	Status      string            `json:"status"`
	Size        int               `json:"size"`
	Metadata    map[string]string `json:"metadata"`

	GroupSnapshotID opt[*string] `json:"group_snapshot_id,omitzero"` // 3.14, detail
	UserID          opt[string]  `json:"user_id,omitzero"`           // 3.41, detail
	ConsumesQuota   opt[bool]    `json:"consumes_quota,omitzero"`    // 3.65, detail

	// The os-extended-snapshot-attributes extension, on show and detail list as its rule
	// allows.
	ProjectID opt[string]  `json:"os-extended-snapshot-attributes:project_id,omitzero"`
	Progress  opt[*string] `json:"os-extended-snapshot-attributes:progress,omitzero"`
}

// snapshotSummary is the view of GET /snapshots entries.
func snapshotSummary(sn *resource.Snapshot) snapshotView {
	md := sn.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return snapshotView{
		ID:          sn.ID,
		CreatedAt:   timestamp(sn.CreatedAt),
		UpdatedAt:   timestampPtr(sn.UpdatedAt),
		Name:        nullable(sn.Name),
		Description: nullable(sn.Description),
		VolumeID:    sn.VolumeID,
		Status:      sn.Status,
		Size:        sn.Size,
		Metadata:    md,
	}
}

// snapshotDetail is the detailed view (create, update, show, detail list); withExtensions
// adds the extended attributes that show and the detail list carry when Cinder's
// extended_snapshot_attributes rule allows.
func (vw viewer) snapshotDetail(sn *resource.Snapshot, withExtensions bool) snapshotView {
	d := snapshotSummary(sn)
	if vw.mv.AtLeast(mvGroupSnapshotID) {
		d.GroupSnapshotID = some(nullable(sn.GroupSnapshotID))
	}
	if vw.mv.AtLeast(mvSnapshotUserID) {
		d.UserID = some(sn.UserID)
	}
	if vw.mv.AtLeast(mvConsumesQuota) {
		d.ConsumesQuota = some(true) // no temporary snapshots
	}
	if withExtensions && vw.may(ruleSnapshotAttributes) {
		d.ProjectID = some(sn.ProjectID)
		d.Progress = some(nullable(sn.Progress))
	}
	return d
}

// getSnapshot reads a snapshot the caller may see; anything else is Cinder's 404.
func (s *server) getSnapshot(ctx context.Context, id string) (*resource.Snapshot, error) {
	notFound := &resource.NotFoundError{Kind: "Snapshot", ID: id}
	sn, err := s.store.GetSnapshot(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "Snapshot", id)
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && sn.ProjectID != rc.ProjectID {
		return nil, notFound
	}
	if f := decideOn(ctx, "Snapshot", id, sn.ProjectID); f != nil {
		return nil, f
	}
	return sn, nil
}

// createSnapshot is POST /snapshots: Cinder's checks of the volume, then the snapshot row,
// its quota and the create_snapshot cast to the volume's backend in one transaction.
func (s *server) createSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	req, f := parseSnapshotCreate(body)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, req.volumeID)
	if err != nil {
		return err
	}
	force := false
	if req.force != nil {
		force = *req.force
		if mv.AtLeast(mvSnapshotInUse) && !force {
			return wire.BadRequest(msgSnapshotInUseFlag)
		}
	}
	valid := []string{resource.StatusAvailable}
	if force || mv.AtLeast(mvSnapshotInUse) {
		valid = append(valid, resource.StatusInUse)
	}
	switch {
	case v.Host == "":
		return wire.BadRequest("Invalid volume: The snapshot cannot be created because volume has not been scheduled to any host.")
	case v.Status == resource.StatusMaintenance:
		return wire.BadRequest("Invalid volume: The snapshot cannot be created when the volume is in maintenance mode.")
	}
	if err := s.requireBackendOp(ctx, v.Host, resource.OpSnapshot, "volume", v.ID); err != nil {
		return err
	}
	sn := &resource.Snapshot{
		ID:        uuid.NewString(),
		ProjectID: rc.ProjectID, // as Cinder: the caller's project owns (and pays for) it
		UserID:    rc.UserID,
		VolumeID:  v.ID,
		Status:    resource.SnapshotCreating,
		Progress:  "0%",
		Metadata:  req.metadata,
	}
	if req.name != nil {
		sn.Name = *req.name
	}
	if req.description != nil {
		sn.Description = *req.description
	}
	msg, err := rpcapi.Outbox(rc, rpcapi.VolumeTarget(v.Host), rpcapi.CreateSnapshot,
		rpcapi.SnapshotArgs{SnapshotID: sn.ID, VolumeID: v.ID})
	if err != nil {
		return err
	}
	msgs, err := s.store.CreateSnapshot(ctx, sn, valid, msg)
	if err != nil {
		var ise *resource.InvalidStateError
		if errors.As(err, &ise) {
			err = wire.BadRequest("Invalid volume: Volume %s status must be %s, but current status is: %s.",
				v.ID, strings.Join(valid, ", "), ise.Status)
		}
		return wire.NotFoundAs(err, "Volume", v.ID)
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"snapshot_id": sn.ID, "volume_id": v.ID, "force": force}).Info("snapshot create accepted")
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": newViewer(r).snapshotDetail(sn, false)})
	return nil
}

// showSnapshot is GET /snapshots/{id}.
func (s *server) showSnapshot(w http.ResponseWriter, r *http.Request) error {
	sn, err := s.getSnapshot(r.Context(), mux.Vars(r)["snapshot_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": newViewer(r).snapshotDetail(sn, true)})
	return nil
}

// updateSnapshot is PUT /snapshots/{id}: name and description.
func (s *server) updateSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["snapshot_id"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	u, f := parseSnapshotUpdate(body)
	if f != nil {
		return f
	}
	if _, err := s.getSnapshot(ctx, id); err != nil {
		return err
	}
	sn, err := s.store.UpdateSnapshot(ctx, id, u)
	if err != nil {
		return wire.NotFoundAs(err, "Snapshot", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": newViewer(r).snapshotDetail(sn, false)})
	return nil
}

// deleteSnapshot is DELETE /snapshots/{id}.
func (s *server) deleteSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sn, err := s.getSnapshot(ctx, mux.Vars(r)["snapshot_id"])
	if err != nil {
		return err
	}
	if err := s.deleteSnapshotFrom(ctx, sn, resource.SnapshotDeletableStatuses); err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithField("snapshot_id", sn.ID).Info("snapshot delete accepted")
	wire.WriteAccepted(w)
	return nil
}

// deleteSnapshotFrom moves sn, if its status is one of from, to deleting with a
// delete_snapshot cast to its backend, in one transaction; a snapshot no backend holds is
// removed here.
func (s *server) deleteSnapshotFrom(ctx context.Context, sn *resource.Snapshot, from []string) error {
	refused := func(err error) error {
		var ise *resource.InvalidStateError
		if errors.As(err, &ise) {
			if len(from) == len(resource.SnapshotDeletableStatuses) {
				return wire.BadRequest("Invalid snapshot: Snapshot status must be %s and must not be part of a group.", strings.Join(from, " or "))
			}
			return wire.BadRequest("Invalid snapshot: Snapshot %s is in status %s, which does not allow this operation.", sn.ID, ise.Status)
		}
		return wire.NotFoundAs(err, "Snapshot", sn.ID)
	}
	if sn.GroupSnapshotID != "" { // a member goes with its group snapshot only, as Cinder's
		if len(from) == len(resource.SnapshotDeletableStatuses) {
			return wire.BadRequest("Invalid snapshot: Snapshot status must be %s and must not be part of a group.", strings.Join(from, " or "))
		}
		return wire.BadRequest("Invalid snapshot: Snapshot  must not be part of a group.")
	}
	if sn.Host == "" {
		return refused(s.store.DestroySnapshot(ctx, sn.ID, from))
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(sn.Host), rpcapi.DeleteSnapshot,
		rpcapi.SnapshotArgs{SnapshotID: sn.ID, VolumeID: sn.VolumeID})
	if err != nil {
		return err
	}
	msgs, err := s.store.TransitionSnapshot(ctx, sn.ID, from, resource.SnapshotDeleting, nil, msg)
	if err != nil {
		return refused(err)
	}
	s.dispatch(ctx, msgs)
	return nil
}
