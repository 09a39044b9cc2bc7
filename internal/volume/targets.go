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

// TargetDaemon is an Exporter backed by a daemon that the backend needs (tgtd): checked at
// start with the driver's setup, and reconciled with the database once the backend has
// recovered.
type TargetDaemon interface {
	Exporter
	// Setup checks the daemon answers; while it fails, the backend stays down.
	Setup(ctx context.Context) error
	// Exports lists the ids of the volumes that have an export (in the daemon or recorded).
	Exports(ctx context.Context) ([]string, error)
	// Restore re-creates the recorded export of a volume that the daemon lost.
	Restore(ctx context.Context, volumeID string) error
}

// exporting is the target helper when this backend exports its volumes through one.
func (m *Manager) exporting() (Exporter, bool) {
	if m.Target == nil {
		return nil, false
	}
	_, exportable := backingStore(m.Driver, driver.Volume{})
	return m.Target, exportable
}

// backingStore is what a target helper exports volume v of d from: its local device, or the
// backing store of a driver.TargetBacked backend; false when d's volumes are neither.
func backingStore(d driver.Driver, v driver.Volume) (driver.BackingStore, bool) {
	if tb, ok := d.(driver.TargetBacked); ok {
		return tb.BackingStore(v), true
	}
	if ld, ok := d.(driver.LocalDevice); ok {
		return driver.BackingStore{Path: ld.DevicePath(v)}, true
	}
	return driver.BackingStore{}, false
}

// setupBackend is what must work before the backend serves: its driver, and its target
// daemon when it has one.
func (m *Manager) setupBackend(ctx context.Context) error {
	if err := m.Driver.Setup(ctx); err != nil {
		return err
	}
	if td, ok := m.Target.(TargetDaemon); ok {
		if _, exports := m.exporting(); exports {
			return td.Setup(ctx)
		}
	}
	return nil
}

// recoverTargets reconciles the target daemon with the database at start: the export of a
// volume that no longer exists (or is deleted) is removed; the export of a volume of this
// backend is restored when the daemon lost it (tgtd restarted). Exports of volumes of
// another backend sharing the daemon are left alone.
func (m *Manager) recoverTargets(ctx context.Context) error {
	td, ok := m.Target.(TargetDaemon)
	if _, exports := m.exporting(); !ok || !exports {
		return nil
	}
	ids, err := td.Exports(ctx)
	if err != nil {
		return fmt.Errorf("list exports: %w", err)
	}
	for _, id := range ids {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID()})
		log := reqctx.Log(rctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": id})
		v, err := m.Store.GetVolume(rctx, id)
		switch {
		case errors.Is(err, resource.ErrNotFound) || err == nil && v.Status == resource.StatusDeleted:
			if err := m.Target.Unexport(rctx, driver.Volume{ID: id, Name: driver.StorageName(id)}); err != nil {
				return fmt.Errorf("remove orphan target of volume %s: %w", id, err)
			}
			log.Info("recovery: orphan target removed (its volume is gone)")
		case err != nil:
			return fmt.Errorf("load volume %s: %w", id, err)
		case rpcapi.BackendHost(v.Host) != m.Host:
			log.WithField("volume_host", v.Host).Debug("recovery: target of another backend left alone")
		default:
			if err := td.Restore(rctx, id); err != nil {
				return fmt.Errorf("restore target of volume %s: %w", id, err)
			}
			log.Debug("recovery: target checked")
		}
	}
	return nil
}

// unexportForDelete removes the export of a volume about to be deleted.
func (m *Manager) unexportForDelete(ctx context.Context, v driver.Volume) error {
	ex, exports := m.exporting()
	if !exports {
		return nil
	}
	if err := ex.Unexport(ctx, v); err != nil {
		return fmt.Errorf("remove the export: %w", err)
	}
	return nil
}
