package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// snapshotMetadataFault words a metadata item the store did not find as Cinder does.
func snapshotMetadataFault(err error, id, key string) error {
	var mnf *resource.SnapshotMetadataNotFoundError
	if errors.As(err, &mnf) {
		return wire.NotFound("Snapshot %s has no metadata with key %s.", id, key)
	}
	return wire.NotFoundAs(err, "Snapshot", id)
}

// snapshotAction is POST /snapshots/{id}/action: os-reset_status and os-force_delete
// (admin), os-update_snapshot_status.
func (s *server) snapshotAction(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	name := o.Keys[0]
	args, _ := o.Get(name)
	id := mux.Vars(r)["snapshot_id"]
	if rule, ok := snapshotActionRules[name]; ok {
		deferRule(r, rule)
	}
	var f error
	switch name {
	case "os-reset_status":
		f = s.resetSnapshotStatus(r, id, args)
	case "os-force_delete":
		f = s.forceDeleteSnapshot(r, id)
	case "os-update_snapshot_status":
		f = s.updateSnapshotStatus(r, id, args)
	default:
		f = wire.BadRequest("There is no such action: %s", name)
	}
	if f != nil {
		return f
	}
	wire.WriteAccepted(w)
	return nil
}

// resetSnapshotStatus is os-reset_status: an administrator sets any of Cinder's statuses.
func (s *server) resetSnapshotStatus(r *http.Request, id string, args any) error {
	o, f := wire.RequireObject("os-reset_status", args)
	if f != nil {
		return f
	}
	raw, ok := o.Get("status")
	if !ok {
		return wire.SchemaError("os-reset_status", o, "'status' is a required property")
	}
	if f := wire.CheckType("status", raw, "string"); f != nil {
		return f
	}
	if f := wire.CheckAdditional("os-reset_status", o, "status"); f != nil {
		return f
	}
	status := strings.ToLower(raw.(string))
	if !slices.Contains(resource.SnapshotStatuses, status) {
		return wire.SchemaError("status", raw, wire.PyRepr(raw)+" is not a 'snapshot_status'")
	}
	ctx := r.Context()
	if _, err := s.getSnapshot(ctx, id); err != nil {
		return err
	}
	if err := s.store.ResetSnapshotStatus(ctx, id, status); err != nil {
		return wire.NotFoundAs(err, "Snapshot", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"snapshot_id": id, "status": status}).Info("snapshot status reset")
	return nil
}

// forceDeleteSnapshot is os-force_delete: an administrator deletes a snapshot in any status.
func (s *server) forceDeleteSnapshot(r *http.Request, id string) error {
	ctx := r.Context()
	sn, err := s.getSnapshot(ctx, id)
	if err != nil {
		return err
	}
	allStatuses := slices.DeleteFunc(slices.Clone(resource.SnapshotStatuses), func(st string) bool { return st == resource.SnapshotDeleted })
	if err := s.deleteSnapshotFrom(ctx, sn, allStatuses); err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithField("snapshot_id", id).Info("snapshot force delete accepted")
	return nil
}

// snapshotStatusMap is os-update_snapshot_status's allowed transitions, by current status.
var snapshotStatusMap = map[string][]string{
	resource.SnapshotCreating: {resource.SnapshotCreating, resource.SnapshotAvailable, resource.SnapshotError},
	resource.SnapshotDeleting: {resource.SnapshotDeleting, resource.SnapshotErrorDeleting},
}

// updateSnapshotStatus is os-update_snapshot_status: status (and progress, "N%") of a
// snapshot that is being created or deleted, as a driver outside Cinder reports it.
func (s *server) updateSnapshotStatus(r *http.Request, id string, args any) error {
	o, f := wire.RequireObject("os-update_snapshot_status", args)
	if f != nil {
		return f
	}
	raw, ok := o.Get("status")
	if !ok {
		return wire.SchemaError("os-update_snapshot_status", o, "'status' is a required property")
	}
	if f := wire.CheckType("status", raw, "string"); f != nil {
		return f
	}
	progress := ""
	if p, ok := o.Get("progress"); ok && p != nil {
		ps, ok := p.(string)
		if !ok {
			return wire.BadRequest("progress must be an integer percentage")
		}
		if ps != "" {
			n, err := strconv.Atoi(strings.TrimSuffix(ps, "%"))
			if err != nil || n < 0 || n > 100 || !strings.HasSuffix(ps, "%") {
				return wire.BadRequest("progress must be an integer percentage")
			}
			progress = ps
		}
	}
	if f := wire.CheckAdditional("os-update_snapshot_status", o, "status", "progress"); f != nil {
		return f
	}
	status := raw.(string)
	ctx := r.Context()
	sn, err := s.getSnapshot(ctx, id)
	if err != nil {
		return err
	}
	allowed, ok := snapshotStatusMap[sn.Status]
	if !ok {
		return wire.BadRequest("Snapshot status %s not allowed for update_snapshot_status", sn.Status)
	}
	if !slices.Contains(allowed, status) {
		return wire.BadRequest("Provided snapshot status %s not allowed for snapshot with status %s.", status, sn.Status)
	}
	if err := s.store.UpdateSnapshotStatus(ctx, id, sn.Status, status, progress); err != nil {
		var ise *resource.InvalidStateError
		if errors.As(err, &ise) { // changed meanwhile
			return wire.BadRequest("Provided snapshot status %s not allowed for snapshot with status %s.", status, ise.Status)
		}
		return wire.NotFoundAs(err, "Snapshot", id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"snapshot_id": id, "status": status, "progress": progress}).Info("snapshot status updated")
	return nil
}

// revertVolume is the volume action revert (3.40): roll a volume back to its latest
// snapshot. Volume → reverting and snapshot → restoring with the revert_to_snapshot cast to
// the volume's backend, in one transaction.
func (s *server) revertVolume(w http.ResponseWriter, r *http.Request, volumeID string, args any) error {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	if !mv.AtLeast(mvVolumeRevert) {
		return wire.NotFound("API version %s is not supported on this method.", mv)
	}
	o, f := wire.RequireObject("revert", args)
	if f != nil {
		return f
	}
	snapshotID := ""
	if v, ok := o.Get("snapshot_id"); ok && v != nil {
		if snapshotID, ok = v.(string); !ok {
			return wire.CheckType("snapshot_id", v, "string")
		}
	}
	v, err := s.getVolume(ctx, volumeID)
	if err != nil {
		return err
	}
	if err := s.requireBackendOp(ctx, v.Host, resource.OpRevert, "volume", v.ID); err != nil {
		return err
	}
	var msgs []resource.OutboxMessage
	if v.Host != "" { // a volume never placed has no snapshots: the store refuses it
		msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(v.Host), rpcapi.RevertToSnapshot,
			rpcapi.RevertArgs{VolumeID: v.ID, SnapshotID: snapshotID})
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	out, err := s.store.StartRevert(ctx, v.ID, snapshotID, msgs...)
	if err != nil {
		var re *resource.RevertError
		if errors.As(err, &re) {
			switch re.Kind {
			case "Volume":
				err = wire.New(http.StatusConflict, "Invalid volume: %s", re.Reason)
			case "Snapshot":
				err = wire.New(http.StatusConflict, "Invalid snapshot: %s", re.Reason)
			default:
				err = wire.BadRequest("%s", re.Reason)
			}
		}
		return wire.NotFoundAs(err, "Volume", v.ID)
	}
	s.dispatch(ctx, out)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "snapshot_id": snapshotID}).Info("volume revert accepted")
	wire.WriteAccepted(w)
	return nil
}
