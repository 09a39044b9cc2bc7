package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// volumeStore is what the volume endpoints need of the database.
type volumeStore interface {
	CreateVolume(ctx context.Context, v *resource.Volume, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	GetVolumeForView(ctx context.Context, id string) (*resource.Volume, error)
	ListVolumes(ctx context.Context, f resource.VolumeFilter) ([]*resource.Volume, error)
	UpdateVolume(ctx context.Context, id string, u resource.VolumeUpdate) (*resource.Volume, error)
	TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	DestroyVolume(ctx context.Context, id string, from []string) error
	// DestroyUnplacedVolume is DestroyVolume only while the volume still has no host.
	DestroyUnplacedVolume(ctx context.Context, id string, from []string) error
	GetVolumeType(ctx context.Context, id string) (*resource.VolumeType, error)
	GetVolumeTypeByName(ctx context.Context, name string) (*resource.VolumeType, error)
}

// policyMultiattach is Cinder's rule of making a volume multiattach: creating one (of a
// multiattach type or with the request's flag) and retyping one to a multiattach type.
const policyMultiattach = "volume:multiattach"

// forceDeletableStatuses are the statuses a volume may be force-deleted from
// (os-force_delete, DELETE ?force=true from 3.23): every status, as Cinder's force delete
// checks none, so an operator can clean up whatever a failure left. What still refuses it
// is Cinder's: an attachment, or a snapshot without cascade (StartVolumeDelete).
var forceDeletableStatuses = append(slices.Clone(volumeStatuses), resource.StatusReverting)

// createVolume is POST /volumes: validate as Cinder does, write the volume and the
// scheduler's create_volume message in one transaction, hand the message to the bus.
func (s *server) createVolume(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	req, f := parseCreate(body, wire.VersionOf(ctx))
	if f != nil {
		return f
	}
	v, err := s.newVolume(r, req)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": newViewer(r).detail(v, false)})
	return nil
}

// newVolume makes the volume req asks for as POST /volumes does (the restore of a backup to
// a new volume makes it the same way): Cinder's checks, then the volume and the scheduler's
// create_volume message in one transaction, the message handed to the bus.
func (s *server) newVolume(r *http.Request, req *createRequest) (*resource.Volume, error) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	var err error
	var vt *resource.VolumeType
	// From a source: the source's type by default; from an image: the image's.
	if req.volumeType != "" || !req.hasSource() && !req.imageGiven {
		if vt, err = s.resolveVolumeType(ctx, req.volumeType); err != nil {
			return nil, err
		}
	}
	src, err := s.lookUpSource(ctx, req)
	if err != nil {
		return nil, err
	}
	if f := req.unsupportedSource(); f != nil {
		return nil, f
	}
	if req.backupID != "" {
		if err := s.checkVolumeBackup(ctx, req); err != nil {
			return nil, err
		}
	}
	img, src, err := s.imageOfCreate(ctx, req, src)
	if err != nil {
		return nil, err
	}
	if src != nil {
		if vt, err = s.fromSource(ctx, req, src, vt); err != nil {
			return nil, err
		}
	}
	if img != nil && vt == nil {
		if vt, err = s.imageVolumeType(ctx, img); err != nil {
			return nil, err
		}
	}
	if req.groupID == "" {
		// Cinder's create: a consistency group is a group; group_id, when given, wins.
		req.groupID = req.consistencyGroupID
	}
	if req.groupID != "" {
		if err := s.checkVolumeGroup(ctx, req.groupID, vt); err != nil {
			return nil, err
		}
	}
	if req.size == 0 {
		return nil, wire.InvalidInput("Volume size 'None' must be an integer and greater than 0")
	}
	if img != nil {
		if f := checkImageForVolume(img, req.size); f != nil {
			return nil, f
		}
		if err := s.refuseEncryptedImage(ctx, vt); err != nil {
			return nil, err
		}
	}
	if f := provisionSizeFault(vt, req.size); f != nil {
		return nil, f
	}
	az := req.availabilityZone
	if az == "" {
		az = s.defaultAZ
	}
	if !s.knownZone(az) {
		return nil, wire.BadRequest("Availability zone '%s' is invalid.", az)
	}
	// As Cinder's create flow (ExtractVolumeRequestTask), once the type is known and before
	// any quota or row: a multiattach volume (its type's extra spec, or the deprecated
	// request flag) needs volume:multiattach on the caller's project.
	multiattach := req.multiattach || typeIsMultiattach(vt)
	if multiattach {
		if f := authorize(r, policyMultiattach, rc.ProjectID); f != nil {
			return nil, f
		}
	}

	v := &resource.Volume{
		ID:               uuid.NewString(),
		ProjectID:        rc.ProjectID,
		UserID:           rc.UserID,
		Size:             req.size,
		Status:           resource.StatusCreating,
		AttachStatus:     resource.AttachDetached,
		AvailabilityZone: az,
		VolumeTypeID:     vt.ID,
		VolumeTypeName:   vt.Name,
		Multiattach:      multiattach,
		Metadata:         req.metadata,
		SnapshotID:       req.snapshotID,
		SourceVolID:      req.sourceVolID,
		GroupID:          req.groupID,
		CreatedAt:        s.now().UTC(),
	}
	if req.name != nil {
		v.Name = *req.name
	}
	if req.description != nil {
		v.Description = *req.description
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	imageID := ""
	if img != nil {
		// Cinder's volume_glance_metadata, written with the row; bootable stays false until
		// the volume service has written the image.
		v.ImageMetadata, imageID = glance.VolumeImageMetadata(img), img.ID
	}
	msg, err := rpcapi.Outbox(rc, rpcapi.SchedulerTarget(), rpcapi.CreateVolume, rpcapi.CreateVolumeArgs{
		VolumeID:         v.ID,
		Size:             v.Size,
		AvailabilityZone: v.AvailabilityZone,
		VolumeTypeID:     v.VolumeTypeID,
		VolumeType:       &rpcapi.VolumeTypeSpec{ID: vt.ID, Name: vt.Name, ExtraSpecs: vt.ExtraSpecs},
		SchedulerHints:   req.schedulerHints,
		SnapshotID:       v.SnapshotID,
		SourceVolID:      v.SourceVolID,
		ImageID:          imageID,
		BackupID:         req.backupID,
	})
	if err != nil {
		return nil, err
	}
	if err := s.newVolumeKey(r, v, vt); err != nil {
		return nil, err
	}
	msgs, err := s.store.CreateVolume(ctx, v, msg)
	if err != nil {
		s.forgetVolumeKey(r, v)
		return nil, err
	}
	s.dispatch(ctx, msgs)
	fields := map[string]any{"volume_id": v.ID, "size": v.Size}
	if imageID != "" {
		fields["image_id"] = imageID
	}
	reqctx.Log(ctx, s.log).WithFields(fields).Info("volume create accepted")
	return v, nil
}

// The extra specs that bound the size of a type's volumes (Cinder's MIN_SIZE_KEY and
// MAX_SIZE_KEY).
const (
	specMinSize = "provisioning:min_vol_size"
	specMaxSize = "provisioning:max_vol_size"
)

// provisionSizeFault is Cinder's provision_filter_on_size: a volume of type vt may not be
// smaller than its provisioning:min_vol_size nor bigger than its provisioning:max_vol_size
// (create, extend, retype). A bound that is not an integer is a 400 naming it (Cinder fails
// with a 500 there).
func provisionSizeFault(vt *resource.VolumeType, size int) *wire.Fault {
	if vt == nil {
		return nil
	}
	bound := func(key string) (int, bool, *wire.Fault) {
		raw, ok := vt.ExtraSpecs[key]
		if !ok || raw == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return 0, false, wire.InvalidInput("Volume type '%s' has %s '%s', which is not an integer.", vt.Name, key, raw)
		}
		return n, true, nil
	}
	minSize, hasMin, f := bound(specMinSize)
	if f != nil {
		return f
	}
	if hasMin && size < minSize {
		return wire.InvalidInput("Specified volume size of '%d' is less than the minimum required size of '%s' for volume type '%s'.", size, vt.ExtraSpecs[specMinSize], vt.Name)
	}
	maxSize, hasMax, f := bound(specMaxSize)
	if f != nil {
		return f
	}
	if hasMax && size > maxSize {
		return wire.InvalidInput("Specified volume size of '%d' is greater than the maximum allowable size of '%s' for volume type '%s'.", size, vt.ExtraSpecs[specMaxSize], vt.Name)
	}
	return nil
}

// typeIsMultiattach reports whether a volume type makes its volumes multiattach: Cinder's
// extra spec multiattach="<is> True" (the request's own multiattach flag is its older way).
func typeIsMultiattach(vt *resource.VolumeType) bool {
	return strings.EqualFold(strings.Join(strings.Fields(vt.ExtraSpecs["multiattach"]), " "), "<is> true")
}

// unsupportedSource refuses more than one source (snapshot, source volume, image, backup), as
// Cinder does.
func (req *createRequest) unsupportedSource() *wire.Fault {
	n := 0
	for _, id := range []string{req.snapshotID, req.sourceVolID, req.backupID} {
		if id != "" {
			n++
		}
	}
	if req.imageGiven {
		n++
	}
	switch {
	case n > 1:
		return wire.InvalidInput(msgExclusiveSources)
	}
	return nil
}

// resolveVolumeType finds the type a create names (by id or by name, as Cinder's
// get_by_name_or_id), or, when it names none, the project's default type (3.62) or else
// default_volume_type. A private type the caller's project may not use is not found.
func (s *server) resolveVolumeType(ctx context.Context, ident string) (*resource.VolumeType, error) {
	if ident == "" {
		return s.defaultTypeFor(ctx, reqctx.From(ctx).ProjectID)
	}
	var (
		vt  *resource.VolumeType
		err error
	)
	if wire.IsUUIDLike(ident) {
		vt, err = s.store.GetVolumeType(ctx, ident)
		if errors.Is(err, resource.ErrNotFound) {
			// A type may be named like a UUID.
			vt, err = s.store.GetVolumeTypeByName(ctx, ident)
		}
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("Volume type %s could not be found.", ident)
		}
	} else {
		vt, err = s.store.GetVolumeTypeByName(ctx, ident)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, wire.NotFound("Volume type with name %s could not be found.", ident)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkTypeAccess(ctx, vt); errors.Is(err, resource.ErrNotFound) {
		if wire.IsUUIDLike(ident) {
			return nil, wire.NotFound("Volume type %s could not be found.", ident)
		}
		return nil, wire.NotFound("Volume type with name %s could not be found.", ident)
	} else if err != nil {
		return nil, err
	}
	return vt, nil
}

// knownZone reports whether volumes may be created in az: the default zone always, others
// when AvailabilityZones lists them (or when no list is configured).
func (s *server) knownZone(az string) bool {
	if az == s.defaultAZ || s.zones == nil {
		return true
	}
	for _, z := range s.zones() {
		if z == az {
			return true
		}
	}
	return false
}

// dispatch hands committed outbox rows to the bus. It must not be cut short by the client
// going away: the rows are committed, the request accepted.
func (s *server) dispatch(ctx context.Context, msgs []resource.OutboxMessage) {
	if len(msgs) > 0 {
		s.dispatcher.Dispatch(context.WithoutCancel(ctx), msgs)
	}
}

// getVolume reads a volume the caller may see; anything else is Cinder's 404.
func (s *server) getVolume(ctx context.Context, id string) (*resource.Volume, error) {
	notFound := &resource.NotFoundError{Kind: "Volume", ID: id}
	if !wire.IsUUIDLike(id) {
		return nil, notFound
	}
	v, err := s.store.GetVolumeForView(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "Volume", id)
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && v.ProjectID != rc.ProjectID {
		return nil, notFound
	}
	if f := decideOn(ctx, "Volume", id, v.ProjectID); f != nil {
		return nil, f
	}
	return v, nil
}

// showVolume is GET /volumes/{id}.
func (s *server) showVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := s.getVolume(r.Context(), mux.Vars(r)["volume_id"])
	if err != nil {
		return err
	}
	return s.writeVolume(w, r, http.StatusOK, v, true)
}

// updateVolume is PUT /volumes/{id}: name, description, metadata (which replaces all).
func (s *server) updateVolume(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["volume_id"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	u, f := parseUpdate(body, wire.VersionOf(ctx))
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if u.Name != nil || u.Description != nil || u.Metadata != nil {
		if v, err = s.store.UpdateVolume(ctx, id, u); err != nil {
			return wire.NotFoundAs(err, "Volume", id)
		}
	}
	return s.writeVolume(w, r, http.StatusOK, v, false)
}

// deleteVolume is DELETE /volumes/{id}. A volume no volume service owns yet is deleted here
// (by a statement that also requires it still has no host); otherwise it goes to "deleting"
// with a delete_volume message to its service, in one transaction.
func (s *server) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["volume_id"]
	q := r.URL.Query()
	cascade := false
	if q.Has("cascade") {
		var f *wire.Fault
		if cascade, f = wire.ParseBoolParam("cascade", q.Get("cascade")); f != nil {
			return f
		}
	}
	force := false
	if wire.VersionOf(ctx).AtLeast(mvDeleteForce) && q.Has("force") {
		var f *wire.Fault
		if force, f = wire.ParseBoolParam("force", q.Get("force")); f != nil {
			return f
		}
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	d, action := resource.VolumeDelete{From: resource.DeletableStatuses, Cascade: cascade, SnapshotFrom: resource.SnapshotCascadeStatuses}, "delete"
	if force {
		// As Cinder: a forced delete needs volume:force_delete as well (admin_api).
		if f := authorizeIn(ctx, policyVolumeForceDelete, v.ProjectID); f != nil {
			return f
		}
		// As Cinder: a forced cascade takes the snapshots whatever their status.
		d, action = resource.VolumeDelete{From: forceDeletableStatuses, Cascade: cascade}, "force-delete"
	}
	if err := s.deleteVolumeWith(ctx, v, d); err != nil {
		return &wire.ActionError{Action: action, Err: err}
	}
	s.deleteVolumeKey(r, v)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": id, "force": force, "cascade": cascade}).Info("volume delete accepted")
	wire.WriteAccepted(w)
	return nil
}

// deleteVolumeFrom deletes v if its status is one of from and it has no snapshots.
func (s *server) deleteVolumeFrom(ctx context.Context, v *resource.Volume, from []string) error {
	return s.deleteVolumeWith(ctx, v, resource.VolumeDelete{From: from})
}

// deleteVolumeWith deletes v as d says. The check of v's snapshots (or, with d.Cascade, their
// move to deleting) is in the transaction that moves v to deleting, so a snapshot created
// meanwhile is never orphaned.
func (s *server) deleteVolumeWith(ctx context.Context, v *resource.Volume, d resource.VolumeDelete) error {
	id, from := v.ID, d.From
	d.VolumeID = v.ID
	if v.AttachStatus == resource.AttachAttached || v.GroupID != "" { // a group's volume goes with its group
		return &resource.InvalidStateError{Kind: "volume", ID: v.ID, Status: v.Status, Want: from}
	}
	if v.Host == "" {
		// v was read before this statement: a scheduler may have placed the volume since,
		// and its volume service made the storage. So each removal here also requires, in
		// its own statement, that the volume still has no host.
		// Scheduling failed or never happened, or (a force delete of a volume in creating)
		// a scheduler may be placing it right now: one statement removes it while it has no
		// host, so that no crash can leave it half deleted.
		err := s.store.DestroyUnplacedVolume(ctx, v.ID, from)
		if err == nil || !errors.Is(err, resource.ErrInvalidState) {
			return wire.NotFoundAs(err, "Volume", v.ID)
		}
		// Placed meanwhile (or its status changed): read it again; a placed volume is
		// deleted by its volume service like any other.
		if v, err = s.store.GetVolume(ctx, id); err != nil {
			return wire.NotFoundAs(err, "Volume", id)
		}
		if v.Host == "" {
			return &resource.InvalidStateError{Kind: "volume", ID: v.ID, Status: v.Status, Want: from}
		}
		if v.AttachStatus == resource.AttachAttached {
			return &resource.InvalidStateError{Kind: "volume", ID: v.ID, Status: v.Status, Want: from}
		}
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(v.Host), rpcapi.DeleteVolume, rpcapi.DeleteVolumeArgs{VolumeID: v.ID})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartVolumeDelete(ctx, d, msg)
	if err != nil {
		return wire.NotFoundAs(err, "Volume", v.ID)
	}
	s.dispatch(ctx, msgs)
	return nil
}
