package volume

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// CreateSnapshot makes the storage of a snapshot in creating on this backend; it becomes
// available, or error with a user message when the backend cannot make it.
func (m *Manager) CreateSnapshot(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "snapshot_id": id})
	sn, ok, err := m.snapshots().load(ctx, log, rpcapi.CreateSnapshot, id, resource.SnapshotCreating)
	if !ok {
		return err
	}
	return m.makeSnapshot(ctx, log, sn)
}

// makeSnapshot runs the driver's create of sn (idempotent) and records the outcome.
func (m *Manager) makeSnapshot(ctx context.Context, log logrus.FieldLogger, sn *resource.Snapshot) error {
	fail := func(detail, text string, cause error) error {
		log.WithError(cause).Error("snapshot could not be created; snapshot set to error")
		msg := userMessage(ctx, sn.ProjectID, resource.MessageResourceSnapshot, sn.ID, resource.ActionSnapshotCreate, detail, text)
		if _, err := m.Store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotCreating}, resource.SnapshotError, msg); err != nil && !lost(err) {
			return fmt.Errorf("set snapshot %s to error: %w", sn.ID, err)
		}
		return nil
	}
	snapper, ok := m.Driver.(driver.Snapshotter)
	if !ok {
		return fail(resource.DetailUnknownError, "The volume's backend does not support snapshots.", errors.New("driver is not a Snapshotter"))
	}
	v, err := m.Store.GetVolume(ctx, sn.VolumeID)
	if errors.Is(err, resource.ErrNotFound) {
		return fail(resource.DetailUnknownError, "The snapshot's volume no longer exists.", err)
	}
	if err != nil {
		return fmt.Errorf("load volume %s of snapshot %s: %w", sn.VolumeID, sn.ID, err)
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	d, err := snapper.CreateSnapshot(ctx, driverSnapshot(sn), dv)
	if err != nil {
		return fail(resource.DetailSnapshotCreateError, "", err)
	}
	p, err := providerData(d)
	if err != nil {
		return fail(resource.DetailSnapshotCreateError, "", err)
	}
	// Available with the driver's data in one update; a create run again overwrites it.
	if err := m.Store.FinishSnapshotCreate(ctx, sn.ID, p); err != nil {
		if lost(err) {
			log.WithError(err).Warn("snapshot changed while its storage was made")
			return nil
		}
		return fmt.Errorf("mark snapshot %s available: %w", sn.ID, err)
	}
	log.Info("snapshot created")
	return nil
}

// DeleteSnapshot removes the storage of a snapshot in deleting on this backend, then its row
// (which gives its quota back); when the backend cannot, the snapshot goes to error_deleting
// with a user message.
func (m *Manager) DeleteSnapshot(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "snapshot_id": id})
	sn, ok, err := m.snapshots().load(ctx, log, rpcapi.DeleteSnapshot, id, resource.SnapshotDeleting)
	if !ok {
		return err
	}
	_, err = m.removeSnapshot(ctx, log, sn)
	return err
}

// removeSnapshot deletes the storage and the row of sn, in deleting, and reports whether it
// is gone; a backend failure sets it to error_deleting with a user message.
func (m *Manager) removeSnapshot(ctx context.Context, log logrus.FieldLogger, sn *resource.Snapshot) (bool, error) {
	// A backend without snapshots never made any storage: only the row is left to remove.
	if snapper, ok := m.Driver.(driver.Snapshotter); ok {
		v, err := m.snapshotVolume(ctx, sn)
		if err != nil {
			return false, err
		}
		if err := snapper.DeleteSnapshot(ctx, driverSnapshot(sn), v); err != nil {
			log.WithError(err).WithField("snapshot_id", sn.ID).Error("snapshot delete failed on the backend; snapshot set to error_deleting")
			msg := userMessage(ctx, sn.ProjectID, resource.MessageResourceSnapshot, sn.ID, resource.ActionSnapshotDelete, resource.DetailSnapshotDeleteError, "")
			if _, err := m.Store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotDeleting}, resource.SnapshotErrorDeleting, msg); err != nil && !lost(err) {
				return false, fmt.Errorf("set snapshot %s to error_deleting: %w", sn.ID, err)
			}
			return false, nil
		}
	}
	if err := m.Store.DestroySnapshot(ctx, sn.ID, []string{resource.SnapshotDeleting}); err != nil {
		if !lost(err) {
			return false, fmt.Errorf("destroy snapshot %s: %w", sn.ID, err)
		}
		if !errors.Is(err, resource.ErrNotFound) {
			log.WithError(err).WithField("snapshot_id", sn.ID).Warn("snapshot changed while its storage was removed")
			return false, nil
		}
	}
	log.WithField("snapshot_id", sn.ID).Info("snapshot deleted")
	return true, nil
}

// deleteSnapshotsOf removes the snapshots of volume v before the volume itself (a cascade
// delete: the API set them all to deleting with the volume). It reports false when one of
// them is not in deleting or could not be removed: the volume must then stay.
func (m *Manager) deleteSnapshotsOf(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) (bool, error) {
	snaps, err := m.Store.ListSnapshots(ctx, resource.SnapshotFilter{VolumeID: v.ID})
	if err != nil {
		return false, fmt.Errorf("list snapshots of volume %s: %w", v.ID, err)
	}
	for _, sn := range snaps {
		if sn.Status != resource.SnapshotDeleting {
			log.WithFields(logrus.Fields{"snapshot_id": sn.ID, "snapshot_status": sn.Status}).
				Error("the volume has a snapshot that is not being deleted; the volume stays")
			return false, nil
		}
	}
	for _, sn := range snaps {
		if gone, err := m.removeSnapshot(ctx, log, sn); err != nil || !gone {
			return false, err
		}
	}
	return true, nil
}

// recoverSnapshots finishes what this backend left in flight with its snapshots: one in
// creating is created (idempotently) or set to error, one in deleting is deleted, one in
// restoring whose volume is no longer reverting goes back to available.
func (m *Manager) recoverSnapshots(ctx context.Context) error {
	for _, status := range []string{resource.SnapshotCreating, resource.SnapshotDeleting, resource.SnapshotRestoring} {
		snaps, err := m.Store.ListSnapshots(ctx, resource.SnapshotFilter{Status: status})
		if err != nil {
			return fmt.Errorf("list snapshots in %s: %w", status, err)
		}
		for _, sn := range snaps {
			if !m.ours(sn.Host) || sn.GroupSnapshotID != "" && status != resource.SnapshotRestoring {
				continue // a group snapshot's members are recovered with it (recoverGroupSnapshots)
			}
			rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: sn.UserID, ProjectID: sn.ProjectID})
			log := reqctx.Log(rctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "snapshot_id": sn.ID, "status": sn.Status})
			switch status {
			case resource.SnapshotCreating:
				if err := m.makeSnapshot(rctx, log, sn); err != nil {
					return err
				}
			case resource.SnapshotDeleting:
				if _, err := m.removeSnapshot(rctx, log, sn); err != nil {
					return err
				}
			case resource.SnapshotRestoring:
				v, err := m.Store.GetVolume(rctx, sn.VolumeID)
				if err != nil && !errors.Is(err, resource.ErrNotFound) {
					return fmt.Errorf("load volume %s of snapshot %s: %w", sn.VolumeID, sn.ID, err)
				}
				if v != nil && v.Status == resource.StatusReverting {
					continue // the volume's recovery ends the revert
				}
				if _, err := m.Store.TransitionSnapshot(rctx, sn.ID, []string{resource.SnapshotRestoring}, resource.SnapshotAvailable, nil); err != nil && !lost(err) {
					return fmt.Errorf("set snapshot %s available: %w", sn.ID, err)
				}
			}
			log.Info("recovery: snapshot handled")
		}
	}
	return nil
}
