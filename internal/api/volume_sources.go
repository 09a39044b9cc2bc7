package api

// Volumes made from other volumes and snapshots, and changes of a volume's size and type:
// create with snapshot_id / source_volid, os-extend, os-retype.
//
// A volume made from a source is placed by the scheduler on the pool that holds the source
// (see internal/scheduler/README.md). os-extend claims the growth on the volume's pool in the
// transaction that starts it; a pool that cannot hold it answers 400 at once (a documented
// deviation: Cinder accepts and fails in the scheduler). os-retype stays on the volume's pool:
// Scoria does not migrate volumes, so a type that pool does not satisfy answers 400.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/capability"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// volumeSourceStore is what this area needs of the database.
type volumeSourceStore interface {
	GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error)
	// BeginExtend moves the volume to extending, charges the quota and claims newSize − size
	// on its pool, and writes msgs, in one transaction (see db.Store.BeginExtend).
	BeginExtend(ctx context.Context, id string, from []string, size, newSize int, msgs ...resource.OutboxMessage) (resource.ClaimResult, []resource.OutboxMessage, error)
	// Retype changes the volume's type (and multiattach) with the per-type quota, in one
	// transaction.
	Retype(ctx context.Context, id string, from []string, fromTypeID, newTypeID string, multiattach bool) error
	// CreateMessage leaves a user message (a refusal the API answers as Cinder does later,
	// after its 202).
	CreateMessage(ctx context.Context, m *resource.Message) error
}

// mvExtendInUse is the microversion from which an in-use volume may be extended.
var mvExtendInUse = wire.MustParseVersion("3.42")

// Cinder's answers of this area.
const (
	msgSnapshotNotAvailable = "Invalid snapshot: Originating snapshot status must be one of 'available' values"
	msgSourceNotUsable      = "Invalid volume: Originating source volume status must be one of 'available, in-use' values"
	msgExclusiveSources     = "May specify only one of backup, imageRef, snapshot, source volume"
	msgRetypeState          = "Invalid volume: Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change."
)

// sourceOf is what a create names as its source, looked up.
type sourceOf struct {
	snapshot *resource.Snapshot
	volume   *resource.Volume // the source volume, or the snapshot's volume (nil if gone)
}

func (req *createRequest) hasSource() bool { return req.snapshotID != "" || req.sourceVolID != "" }

// lookUpSource reads the snapshot and the source volume a create names, as Cinder's
// controller does before anything else of them: one the caller may not see is a 404.
func (s *server) lookUpSource(ctx context.Context, req *createRequest) (*sourceOf, error) {
	if !req.hasSource() {
		return nil, nil
	}
	src := &sourceOf{}
	rc := reqctx.From(ctx)
	if req.snapshotID != "" {
		sn, err := s.store.GetSnapshot(ctx, req.snapshotID)
		if err == nil && !rc.IsAdmin && sn.ProjectID != rc.ProjectID {
			err = &resource.NotFoundError{Kind: "Snapshot", ID: req.snapshotID}
		}
		if err != nil {
			return nil, wire.NotFoundAs(err, "Snapshot", req.snapshotID)
		}
		src.snapshot = sn
	}
	if req.sourceVolID != "" {
		v, err := s.getVolume(ctx, req.sourceVolID)
		if err != nil {
			return nil, err
		}
		src.volume = v
	} else if v, err := s.store.GetVolume(ctx, src.snapshot.VolumeID); err == nil {
		src.volume = v // for the snapshot's availability zone
	}
	return src, nil
}

// fromSource applies Cinder's rules of a create from src, in the order of its create flow:
// the source's status, the size (the source's by default, never smaller), the availability
// zone (the source's by default, and no other), the volume type (the source's by default; a
// different one only if a retype between them is possible). It sets req.size and
// req.availabilityZone and returns the type.
func (s *server) fromSource(ctx context.Context, req *createRequest, src *sourceOf, vt *resource.VolumeType) (*resource.VolumeType, error) {
	sn, sv := src.snapshot, src.volume
	switch {
	case sn != nil && sn.Status != resource.SnapshotAvailable:
		return nil, wire.BadRequest(msgSnapshotNotAvailable)
	case sn == nil && sv.Status != resource.StatusAvailable && sv.Status != resource.StatusInUse:
		return nil, wire.BadRequest(msgSourceNotUsable)
	}
	if err := s.sourceSupported(ctx, src); err != nil {
		return nil, err
	}
	srcSize, srcTypeID := 0, ""
	if sn != nil {
		srcSize, srcTypeID = sn.Size, sn.VolumeTypeID
	} else {
		srcSize, srcTypeID = sv.Size, sv.VolumeTypeID
	}
	if req.size == 0 {
		req.size = srcSize
	}
	if req.size < srcSize {
		if sn != nil {
			return nil, wire.InvalidInput("Volume size '%d'GB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.", req.size, srcSize)
		}
		return nil, wire.InvalidInput("Volume size '%d'GB cannot be smaller than original volume size  %dGB. They must be >= original volume size.", req.size, srcSize)
	}
	srcAZ := ""
	if sv != nil {
		srcAZ = sv.AvailabilityZone
	}
	if req.availabilityZone == "" {
		req.availabilityZone = srcAZ
	}
	az := req.availabilityZone
	if az == "" {
		az = s.defaultAZ
	}
	if !s.knownZone(az) {
		return nil, wire.BadRequest("Availability zone '%s' is invalid.", az)
	}
	if srcAZ != "" && srcAZ != az {
		what := "source volume"
		if sn != nil {
			what = "snapshot"
		}
		return nil, wire.InvalidInput("Volume must be in the same availability zone as the %s", what)
	}
	srcType, err := s.store.GetVolumeType(ctx, srcTypeID)
	if vt == nil {
		if err != nil {
			return nil, wire.NotFoundAs(err, "VolumeType", srcTypeID)
		}
		return srcType, nil
	}
	if err == nil && vt.ID != srcType.ID && !s.retypePossible(ctx, srcType, vt) {
		return nil, wire.InvalidInput("Invalid volume_type provided: %s (requested type is not compatible; recommend omitting the type argument).", vt.ID)
	}
	return vt, nil
}

// retypePossible is Cinder's _retype_is_possible for a create from a source of type from in
// type to: always with a single volume service, otherwise when the types' extra specs agree.
func (s *server) retypePossible(ctx context.Context, from, to *resource.VolumeType) bool {
	if s.encryptionChanged(ctx, from.ID, to.ID) {
		return false
	}
	if svcs, err := s.store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume}); err == nil && len(svcs) == 1 {
		return true
	}
	return maps.Equal(from.ExtraSpecs, to.ExtraSpecs)
}

// sourceVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) sourceVolumeActions() map[string]volumeAction {
	return map[string]volumeAction{
		"os-extend": s.extendVolume,
		"os-retype": s.retypeVolume,
	}
}

// parseExtend validates the argument of os-extend against Cinder's schema (extend):
// {"new_size": volume_size}, nothing else.
func parseExtend(args any) (int, *wire.Fault) {
	o, f := wire.RequireObject("os-extend", args)
	if f != nil {
		return 0, f
	}
	size := 0
	if v, ok := o.Get("new_size"); ok {
		if f := wire.CheckType("new_size", v, "integer", "string"); f != nil {
			return 0, f
		}
		if size, f = wire.CheckSize("new_size", v); f != nil {
			return 0, f
		}
	}
	if !o.Has("new_size") {
		return 0, wire.SchemaError("os-extend", o, "'new_size' is a required property")
	}
	if f := wire.CheckAdditional("os-extend", o, "new_size"); f != nil {
		return 0, f
	}
	return size, nil
}

// The rules of os-extend: an in-use volume (3.42) has its own.
const (
	policyExtend         = "volume:extend"
	policyExtendAttached = "volume:extend_attached_volume"
)

// extendVolume is os-extend: grow an available volume (or, from 3.42, an in-use one). The
// status change, the quota, the capacity claim of the growth on the volume's pool and the
// extend_volume cast to its backend are one transaction.
func (s *server) extendVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	newSize, f := parseExtend(args)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	inUse := wire.VersionOf(ctx).AtLeast(mvExtendInUse) && v.Status == resource.StatusInUse
	rule := policyExtend
	if inUse {
		rule = policyExtendAttached // Cinder's extend_attached_volume: this rule alone
	}
	if f := authorizeIn(ctx, rule, v.ProjectID); f != nil {
		return f
	}
	if newSize <= v.Size {
		return wire.InvalidInput("New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, newSize)
	}
	if vt, err := s.store.GetVolumeType(ctx, v.VolumeTypeID); err == nil {
		if f := provisionSizeFault(vt, newSize); f != nil {
			return f
		}
	} else if !errors.Is(err, resource.ErrNotFound) {
		return err
	}
	expected := resource.StatusAvailable
	if inUse {
		expected = resource.StatusInUse
	}
	stateFault := func(status string) *wire.Fault {
		return wire.BadRequest("Invalid volume: Volume %s status must be '{'status': '%s'}' to extend, currently %s.", v.ID, expected, status)
	}
	if v.Status != expected {
		return stateFault(v.Status)
	}
	if err := s.requireBackendOp(ctx, v.Host, resource.OpExtend, "volume", v.ID); err != nil {
		return err
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(v.Host), rpcapi.ExtendVolume,
		rpcapi.ExtendVolumeArgs{VolumeID: v.ID, NewSize: newSize})
	if err != nil {
		return err
	}
	res, msgs, err := s.store.BeginExtend(ctx, v.ID, []string{expected}, v.Size, newSize, msg)
	var ise *resource.InvalidStateError
	switch {
	case errors.As(err, &ise):
		return stateFault(ise.Status)
	case err != nil:
		return wire.NotFoundAs(err, "Volume", id)
	case !res.Claimed:
		// As Cinder, whose scheduler refuses the growth after the 202: the volume keeps its
		// status and size, nothing is charged or sent, and a user message says why.
		why := noRoomToExtend(v, newSize, res)
		um := &resource.Message{ProjectID: v.ProjectID, RequestID: reqctx.From(ctx).RequestID,
			ResourceType: resource.MessageResourceVolume, ResourceUUID: v.ID,
			ActionID: resource.ActionExtendVolume, DetailID: resource.DetailNoBackendAvailable, Detail: why}
		if err := s.store.CreateMessage(ctx, um); err != nil {
			return err
		}
		reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "size": v.Size, "new_size": newSize, "reason": why}).
			Warn("volume extend refused: no room on the volume's pool; user message left")
		wire.WriteAccepted(w)
		return nil
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "size": v.Size, "new_size": newSize}).Info("volume extend accepted")
	wire.WriteAccepted(w)
	return nil
}

// noRoomToExtend says why the volume's pool cannot take an extend's growth: the user
// message of the refused extend.
func noRoomToExtend(v *resource.Volume, newSize int, res resource.ClaimResult) string {
	delta := newSize - v.Size
	if res.Down {
		return fmt.Sprintf("The backend %s of volume %s reports that it cannot reach its storage (backend_state down), so it cannot grow the volume; try again once it is up.",
			rpcapi.BackendHost(v.Host), v.ID)
	}
	if res.NoPool {
		return fmt.Sprintf("Pool %s of volume %s has not reported its capacity, so it cannot take %d GiB more; try again once its backend is up.", v.Host, v.ID, delta)
	}
	return fmt.Sprintf("Pool %s cannot hold %d GiB more for volume %s: %s of %s GiB claimed. Scoria does not move a volume to extend it.",
		v.Host, delta, v.ID, fmtGiB(res.AllocatedGB), fmtGiB(res.LimitGB))
}

func fmtGiB(f float64) string {
	return fmt.Sprintf("%.6g", f)
}

// retypeRequest is a validated os-retype argument.
type retypeRequest struct {
	newType string
	policy  string // "never" (also when not given) or "on-demand"
}

// parseRetype validates the argument of os-retype against Cinder's schema (retype):
// new_type a string, migration_policy one of on-demand, never.
func parseRetype(args any) (retypeRequest, *wire.Fault) {
	req := retypeRequest{policy: "never"}
	o, f := wire.RequireObject("os-retype", args)
	if f != nil {
		return req, f
	}
	if v, ok := o.Get("new_type"); ok {
		if f := wire.CheckType("new_type", v, "string"); f != nil {
			return req, f
		}
		req.newType = v.(string)
	}
	if v, ok := o.Get("migration_policy"); ok {
		if f := wire.CheckType("migration_policy", v, "string", "null"); f != nil {
			return req, f
		}
		if s, _ := v.(string); s != "on-demand" && s != "never" {
			return req, wire.SchemaError("migration_policy", v, wire.PyRepr(v)+" is not one of ['on-demand', 'never']")
		}
		req.policy = v.(string)
	}
	if !o.Has("new_type") {
		return req, wire.SchemaError("os-retype", o, "'new_type' is a required property")
	}
	if f := wire.CheckAdditional("os-retype", o, "new_type", "migration_policy"); f != nil {
		return req, f
	}
	return req, nil
}

// retypeVolume is os-retype: change the type of an available or in-use volume, on the pool
// it is on. The new type's extra specs must be satisfied by that pool (the scheduler's
// CapabilitiesFilter); a type that would need a move answers 400.
func (s *server) retypeVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	req, f := parseRetype(args)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if req.newType == "" {
		return wire.NotFound("Volume type with name  could not be found.")
	}
	vt, err := s.resolveVolumeType(ctx, req.newType)
	if err != nil {
		return err
	}
	if f := provisionSizeFault(vt, v.Size); f != nil {
		return f
	}
	multiattach := typeIsMultiattach(vt)
	if multiattach != v.Multiattach {
		if v.Status != resource.StatusAvailable {
			return wire.InvalidInput("Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: %s.", v.Status)
		}
		// As Cinder's retype: making the volume multiattach needs volume:multiattach, on the
		// volume (its project).
		if multiattach {
			if f := authorizeIn(ctx, policyMultiattach, v.ProjectID); f != nil {
				return f
			}
		}
	}
	from := []string{resource.StatusAvailable, resource.StatusInUse}
	if !slices.Contains(from, v.Status) || vt.ID == v.VolumeTypeID {
		return wire.BadRequest(msgRetypeState)
	}
	if err := s.retypeEncryptionFault(ctx, v, vt, multiattach, req.policy); err != nil {
		return err
	}
	if err := s.retypeFits(ctx, v, vt, req.policy); err != nil {
		return err
	}
	err = s.store.Retype(ctx, v.ID, from, v.VolumeTypeID, vt.ID, multiattach)
	switch {
	case errors.Is(err, resource.ErrInvalidState):
		return wire.BadRequest(msgRetypeState)
	case err != nil:
		return wire.NotFoundAs(err, "Volume", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "from_type": v.VolumeTypeID, "to_type": vt.ID}).Info("volume retyped in place")
	wire.WriteAccepted(w)
	return nil
}

// retypeFits checks that the volume's pool satisfies the new type's capability extra specs,
// with the pool's capabilities as the scheduler knows them. A type without capability specs
// fits anywhere and needs no scheduler.
func (s *server) retypeFits(ctx context.Context, v *resource.Volume, vt *resource.VolumeType, policy string) error {
	if ok, _ := capability.Fit(map[string]any{}, vt.ExtraSpecs); ok || v.Host == "" {
		return nil
	}
	if s.pools == nil {
		return errNoPools
	}
	pools, err := s.pools.GetPools(ctx, rpcapi.GetPoolsArgs{Filters: map[string]string{"name": v.Host}})
	if err != nil {
		return err
	}
	if len(pools) == 0 {
		return wire.BadRequest("Invalid volume: pool %s of volume %s is not up, so type %s cannot be checked against it; try again once its backend is up.", v.Host, v.ID, vt.Name)
	}
	if capability.BackendDown(pools[0].Capabilities) {
		return wire.BadRequest("Invalid volume: the backend %s of volume %s reports that it cannot reach its storage (backend_state down), so type %s cannot be checked against it; try again once it is up.",
			rpcapi.BackendHost(v.Host), v.ID, vt.Name)
	}
	ok, why := capability.Fit(pools[0].Capabilities, vt.ExtraSpecs)
	if ok {
		return nil
	}
	if policy == "on-demand" {
		return wire.BadRequest("Retyping volume %s to type %s needs a move to another backend (its pool %s %s); Scoria does not migrate volumes yet.", v.ID, vt.Name, v.Host, why)
	}
	return wire.BadRequest("No valid backend was found. Cannot place volume %s on %s: the pool %s of type %s, and the migration policy is never.", v.ID, v.Host, why, vt.Name)
}
