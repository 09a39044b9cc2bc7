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

// RevertToSnapshot rolls a volume in reverting on this backend back to its snapshot in
// restoring; both become available. When the backend cannot, the volume goes to error and
// the snapshot back to available (as Cinder leaves them), with a user message.
func (m *Manager) RevertToSnapshot(ctx context.Context, args rpcapi.RevertArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": args.VolumeID, "snapshot_id": args.SnapshotID})
	v, ok, err := m.volumes().load(ctx, log, rpcapi.RevertToSnapshot, args.VolumeID, resource.StatusReverting)
	if !ok {
		return err
	}
	sn, err := m.Store.GetSnapshot(ctx, args.SnapshotID)
	if errors.Is(err, resource.ErrNotFound) {
		return m.failRevert(ctx, log, v, args.SnapshotID, fmt.Sprintf("Snapshot %s no longer exists.", args.SnapshotID), err)
	}
	if err != nil {
		return fmt.Errorf("load snapshot %s: %w", args.SnapshotID, err)
	}
	return m.revert(ctx, log, v, sn)
}

// revert runs the driver's revert of v to sn (idempotent) and records the outcome.
func (m *Manager) revert(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, sn *resource.Snapshot) error {
	if sn.VolumeID != v.ID {
		return m.failRevert(ctx, log, v, sn.ID, fmt.Sprintf("Snapshot %s is not a snapshot of this volume.", sn.ID),
			fmt.Errorf("snapshot %s is of volume %s", sn.ID, sn.VolumeID))
	}
	if sn.Status != resource.SnapshotRestoring && sn.Status != resource.SnapshotAvailable {
		return m.failRevert(ctx, log, v, sn.ID, fmt.Sprintf("Snapshot %s is %s.", sn.ID, sn.Status),
			fmt.Errorf("snapshot %s is in status %s", sn.ID, sn.Status))
	}
	rev, ok := m.Driver.(driver.Reverter)
	if !ok {
		return m.failRevert(ctx, log, v, sn.ID, "The volume's backend cannot revert volumes to snapshots.", errors.New("driver is not a Reverter"))
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	if err := rev.RevertToSnapshot(ctx, dv, driverSnapshot(sn)); err != nil {
		return m.failRevert(ctx, log, v, sn.ID, "", err)
	}
	if err := m.Store.FinishRevert(ctx, v.ID, sn.ID); err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while it was reverted")
			return nil
		}
		return fmt.Errorf("finish revert of volume %s: %w", v.ID, err)
	}
	log.Info("volume reverted to snapshot")
	return nil
}

// failRevert sets v to error and its snapshot snapshotID (if restoring) back to available,
// with a user message: text, or a sentence naming the snapshot. Cinder has no action id for
// a revert; the message has the unknown action's.
func (m *Manager) failRevert(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, snapshotID, text string, cause error) error {
	log.WithError(cause).Error("revert to snapshot failed; volume set to error")
	if text == "" {
		text = fmt.Sprintf("Volume failed to revert to snapshot %s.", snapshotID)
	}
	msg := userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionUnknown, resource.DetailUnknownError, text)
	if err := m.Store.FailRevert(ctx, v.ID, snapshotID, msg); err != nil && !lost(err) {
		return fmt.Errorf("set volume %s to error: %w", v.ID, err)
	}
	return nil
}

// recoverRevert finishes the revert of v, left in reverting, to its snapshot in restoring
// (the driver's revert is idempotent); without exactly one such snapshot it fails the revert.
func (m *Manager) recoverRevert(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) error {
	snaps, err := m.Store.ListSnapshots(ctx, resource.SnapshotFilter{VolumeID: v.ID, Status: resource.SnapshotRestoring})
	if err != nil {
		return fmt.Errorf("list snapshots of volume %s: %w", v.ID, err)
	}
	if len(snaps) != 1 {
		return m.failRevert(ctx, log, v, "", "The revert was interrupted and could not be finished.",
			fmt.Errorf("%d snapshots of the volume in restoring, want 1", len(snaps)))
	}
	return m.revert(ctx, log.WithField("snapshot_id", snaps[0].ID), v, snaps[0])
}
