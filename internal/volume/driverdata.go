package volume

// What a driver is told about the volumes and snapshots it acts on, and how what it returns
// is kept: the driver's own data (driver.Data, Cinder's provider_location/auth/id) lives in
// the row's provider columns, written in the same update that makes the object available,
// and goes back to the driver on every later call with the type's extra specs and the
// volume's metadata.

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// driverDataStore is what reading and keeping the driver's data needs of the database;
// Store embeds it.
type driverDataStore interface {
	// VolumeTypeExtraSpecs is read on every call, never cached: a retype shows at once.
	VolumeTypeExtraSpecs(ctx context.Context, typeID string) (map[string]string, error)
	// FinishSnapshotCreate makes a snapshot available with its driver data in one update.
	FinishSnapshotCreate(ctx context.Context, id string, p resource.ProviderData) error
	// FinishGroupSnapshotData is FinishGroupSnapshot that keeps each member's driver data.
	FinishGroupSnapshotData(ctx context.Context, id string, failed []string, provider map[string]resource.ProviderData, msg *resource.Message) error
}

// driverVolume is v as its driver sees it: its storage name, size and pool, the driver's
// data from its row, its type's extra specs (read now; nil without a type) and its metadata.
func (m *Manager) driverVolume(ctx context.Context, v *resource.Volume) (driver.Volume, error) {
	dv := driver.Volume{ID: v.ID, Name: driver.StorageName(v.ID), SizeGiB: v.Size, Pool: rpcapi.PoolName(v.Host),
		Metadata: v.Metadata, Data: driverData(v.Provider), Attached: v.AttachStatus == resource.AttachAttached}
	if v.VolumeTypeID != "" {
		specs, err := m.Store.VolumeTypeExtraSpecs(ctx, v.VolumeTypeID)
		if err != nil {
			return driver.Volume{}, fmt.Errorf("volume %s as its driver sees it: %w", v.ID, err)
		}
		dv.ExtraSpecs = specs
	}
	return dv, nil
}

// snapshotVolume is the volume of sn as its driver sees it for a call about sn: the size and
// pool of the volume when sn was taken, with the volume's driver data, extra specs and
// metadata when its row is still there (a snapshot's volume goes only after it).
func (m *Manager) snapshotVolume(ctx context.Context, sn *resource.Snapshot) (driver.Volume, error) {
	dv := driver.Volume{ID: sn.VolumeID, Name: driver.StorageName(sn.VolumeID), SizeGiB: sn.Size, Pool: rpcapi.PoolName(sn.Host)}
	v, err := m.Store.GetVolume(ctx, sn.VolumeID)
	if errors.Is(err, resource.ErrNotFound) {
		return dv, nil
	}
	if err != nil {
		return driver.Volume{}, fmt.Errorf("load volume %s of snapshot %s: %w", sn.VolumeID, sn.ID, err)
	}
	full, err := m.driverVolume(ctx, v)
	if err != nil {
		return driver.Volume{}, err
	}
	dv.ExtraSpecs, dv.Metadata, dv.Data, dv.Attached = full.ExtraSpecs, full.Metadata, full.Data, full.Attached
	return dv, nil
}

// driverData is the driver's data p, as the row keeps it, in the driver's form.
func driverData(p resource.ProviderData) driver.Data {
	return driver.Data{Location: p.Location, Auth: p.Auth, ID: p.ID}
}

// providerColumnLen is the length of Cinder's provider_location, provider_auth and
// provider_id columns, VARCHAR(255): in characters, as MariaDB counts them.
const providerColumnLen = 255

// errDataTooLong is the error of a driver whose data does not fit the provider columns.
var errDataTooLong = errors.New("the driver returned data longer than the 255 characters of Cinder's provider columns")

// providerData is what a driver returned, as the row keeps it. Data that does not fit the
// columns is the driver's failure (errDataTooLong): the row could not keep it, and a driver
// that cannot find its object again without it must not see the object used.
func providerData(d driver.Data) (resource.ProviderData, error) {
	for name, s := range map[string]string{"location": d.Location, "auth": d.Auth, "id": d.ID} {
		if n := utf8.RuneCountInString(s); n > providerColumnLen {
			return resource.ProviderData{}, fmt.Errorf("%w (%s has %d)", errDataTooLong, name, n)
		}
	}
	return resource.ProviderData{Location: d.Location, Auth: d.Auth, ID: d.ID}, nil
}
