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

// ExtendVolume grows a volume in extending on this backend to args.NewSize. It then goes
// back to in-use when attached, else available; when the backend cannot grow it, it goes to
// error_extending with a user message, and the quota and capacity the extend took go back.
func (m *Manager) ExtendVolume(ctx context.Context, args rpcapi.ExtendVolumeArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": args.VolumeID, "new_size": args.NewSize})
	v, ok, err := m.volumes().load(ctx, log, rpcapi.ExtendVolume, args.VolumeID, resource.StatusExtending)
	if !ok {
		return err
	}
	return m.extend(ctx, log, v, args.NewSize)
}

// extend runs the driver's extend of v (idempotent) to newSize and records the outcome.
func (m *Manager) extend(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, newSize int) error {
	fail := func(text string, cause error) error {
		log.WithError(cause).Error("extend failed; volume set to error_extending")
		msg := userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionExtendVolume, resource.DetailDriverFailedExtend, text)
		if err := m.Store.FailExtend(ctx, v.ID, newSize, msg); err != nil && !lost(err) {
			return fmt.Errorf("set volume %s to error_extending: %w", v.ID, err)
		}
		return nil
	}
	ext, ok := m.Driver.(driver.Extender)
	if !ok {
		return fail("The volume's backend cannot extend volumes.", errors.New("driver is not an Extender"))
	}
	if newSize <= v.Size {
		return fail("", fmt.Errorf("new size %d GiB is not larger than the size %d GiB", newSize, v.Size))
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	if err := ext.ExtendVolume(ctx, dv, newSize); err != nil {
		return fail("", err)
	}
	if err := m.Store.FinishExtend(ctx, v.ID, newSize); err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while it was extended")
			return nil
		}
		return fmt.Errorf("finish extend of volume %s: %w", v.ID, err)
	}
	log.Info("volume extended")
	return nil
}

// recoverExtend finishes the extend of v, left in extending, to the size its claim records
// (the driver's extend is idempotent); when that size is not known it fails the extend.
func (m *Manager) recoverExtend(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) error {
	target, err := m.Store.ExtendTarget(ctx, v.ID)
	if lost(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if target == 0 {
		log.Error("recovery: the size the volume was being extended to is not recorded; volume set to error_extending")
		msg := userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionExtendVolume,
			resource.DetailDriverFailedExtend, "The extend was interrupted and could not be finished.")
		if err := m.Store.FailExtend(ctx, v.ID, v.Size, msg); err != nil && !lost(err) {
			return fmt.Errorf("set volume %s to error_extending: %w", v.ID, err)
		}
		return nil
	}
	return m.extend(ctx, log.WithField("new_size", target), v, target)
}
