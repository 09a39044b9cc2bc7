package volume

import (
	"context"
	"encoding/json"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Handle is the RPC handler of this backend's queue: the manager's routing table (Routes).
func (m *Manager) Handle(ctx context.Context, msg *rpc.Message) (any, error) {
	m.routerOnce.Do(func() { m.router = m.Routes() })
	return m.router.Handle(ctx, msg)
}

// Routes is the volume service's RPC routing table: every method a backend's queue serves,
// with its typed arguments. An unknown method or undecodable arguments are refused
// (rpc.ErrUndeliverable): logged once and never delivered again.
func (m *Manager) Routes() *rpc.Router {
	r := rpc.NewRouter("volume "+m.Host, m.Log)
	// volumes
	rpc.OnCast(r, rpcapi.CreateVolume, m.CreateVolume)
	rpc.OnCast(r, rpcapi.DeleteVolume, func(ctx context.Context, a rpcapi.DeleteVolumeArgs) error {
		return m.DeleteVolume(ctx, a.VolumeID)
	})
	rpc.OnCast(r, rpcapi.ExtendVolume, m.ExtendVolume)
	rpc.OnCast(r, rpcapi.RevertToSnapshot, m.RevertToSnapshot)
	// images (image_upload.go, image_reimage.go)
	rpc.OnCast(r, rpcapi.CopyVolumeToImage, m.CopyVolumeToImage)
	rpc.OnCast(r, rpcapi.ReimageVolume, m.Reimage)
	rpc.OnCast(r, rpcapi.PublishCapabilities, func(ctx context.Context, _ json.RawMessage) error {
		m.report(ctx)
		return nil
	})
	// snapshots
	rpc.OnCast(r, rpcapi.CreateSnapshot, func(ctx context.Context, a rpcapi.SnapshotArgs) error {
		return m.CreateSnapshot(ctx, a.SnapshotID)
	})
	rpc.OnCast(r, rpcapi.DeleteSnapshot, func(ctx context.Context, a rpcapi.SnapshotArgs) error {
		return m.DeleteSnapshot(ctx, a.SnapshotID)
	})
	// connections (calls)
	rpc.On(r, rpcapi.InitializeConnection, func(ctx context.Context, a rpcapi.ConnectionArgs) (any, error) {
		return m.InitializeConnection(ctx, a)
	})
	rpc.OnCast(r, rpcapi.TerminateConnection, m.TerminateConnection)
	// backups (backup_device.go)
	rpc.On(r, rpcapi.GetBackupDevice, func(ctx context.Context, a rpcapi.BackupDeviceArgs) (any, error) {
		return m.GetBackupDevice(ctx, a)
	})
	rpc.On(r, rpcapi.RemoveBackupDevice, func(ctx context.Context, a rpcapi.BackupDeviceArgs) (any, error) {
		return struct{}{}, m.RemoveBackupDevice(ctx, a)
	})
	// groups and group snapshots
	rpc.OnCast(r, rpcapi.CreateGroup, func(ctx context.Context, a rpcapi.GroupArgs) error {
		return m.CreateGroup(ctx, a.GroupID)
	})
	rpc.OnCast(r, rpcapi.DeleteGroup, func(ctx context.Context, a rpcapi.GroupArgs) error {
		return m.DeleteGroup(ctx, a.GroupID)
	})
	rpc.OnCast(r, rpcapi.UpdateGroup, m.UpdateGroup)
	rpc.OnCast(r, rpcapi.CreateGroupSnapshot, func(ctx context.Context, a rpcapi.GroupSnapshotArgs) error {
		return m.CreateGroupSnapshot(ctx, a.GroupSnapshotID)
	})
	rpc.OnCast(r, rpcapi.DeleteGroupSnapshot, func(ctx context.Context, a rpcapi.GroupSnapshotArgs) error {
		return m.DeleteGroupSnapshot(ctx, a.GroupSnapshotID)
	})
	return r
}
