package volume

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

func TestInitializeConnection(t *testing.T) {
	ctx := context.Background()
	t.Run("local file without a target: os-brick's local connection, over the bus", func(t *testing.T) {
		f := newFixture(t)
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go f.bus.Serve(sctx, rpc.Target{Topic: rpc.TopicVolume, Server: f.m.Host}, f.m.Handle)
		v := f.volume(resource.StatusAvailable, f.m.Host+"#file", 1)
		var reply rpcapi.ConnectionReply
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := f.bus.Call(cctx, rpcapi.VolumeTarget(f.m.Host), rpcapi.InitializeConnection,
			rpcapi.ConnectionArgs{VolumeID: v.ID, Connector: driver.Connector{"host": "h"}}, &reply); err != nil {
			t.Fatal(err)
		}
		info := reply.ConnectionInfo
		if info.DriverVolumeType != "local" || info.Data["device_path"] != f.drv.DevicePath(driverVolume(v)) ||
			info.Data["volume_id"] != v.ID || info.Data["access_mode"] != "rw" || info.Data["encrypted"] != false {
			t.Errorf("connection info %+v", info)
		}
	})
	t.Run("an encrypted volume: encrypted true, whatever the driver says", func(t *testing.T) {
		f := newFixture(t)
		v := &resource.Volume{ID: "5e1f0c8a-0000-4000-8000-00000000e001", ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusAvailable,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: f.m.Host + "#file", Metadata: map[string]string{},
			EncryptionKeyID: "6f0e1c2a-0000-4000-8000-00000000e002"}
		if _, err := f.store.CreateVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
		reply, err := f.m.InitializeConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID, Connector: driver.Connector{"host": "h"}})
		if err != nil {
			t.Fatal(err)
		}
		if reply.ConnectionInfo.Data["encrypted"] != true {
			t.Errorf("connection info %+v, want encrypted true", reply.ConnectionInfo)
		}
	})
	t.Run("local file with a target helper: the real tgtadm helper on tgtd", func(t *testing.T) {
		f := newFixture(t)
		tg := systemTGT(t)
		f.m.Target = tg
		v := f.volume(resource.StatusAvailable, f.m.Host+"#file", 1)
		if _, err := f.drv.Create(ctx, driverVolume(v)); err != nil {
			t.Fatal(err)
		}
		iqn := tg.IQN(driverVolume(v))
		t.Cleanup(func() { _ = tg.Unexport(context.Background(), driverVolume(v)) })
		reply, err := f.m.InitializeConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID, AccessMode: "ro"})
		if err != nil {
			t.Fatal(err)
		}
		info := reply.ConnectionInfo
		if info.DriverVolumeType != "iscsi" || info.Data["access_mode"] != "ro" || info.Data["target_iqn"] != iqn ||
			info.Data["target_portal"] != "127.0.0.1:3260" {
			t.Errorf("connection info %+v, want iscsi ro at %s on 127.0.0.1:3260", info, iqn)
		}
		if !hasTarget(t, iqn) {
			t.Fatalf("tgtd has no target %s after initialize_connection", iqn)
		}
		if err := f.m.TerminateConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID}); err != nil || !hasTarget(t, iqn) {
			t.Errorf("terminate without remove_export: %v; the target must stay", err)
		}
		if err := f.m.TerminateConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID, RemoveExport: true}); err != nil || hasTarget(t, iqn) {
			t.Errorf("terminate with remove_export: %v; the target must be gone", err)
		}
	})
	t.Run("unknown volume", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.m.InitializeConnection(ctx, rpcapi.ConnectionArgs{VolumeID: "00000000-0000-0000-0000-000000000000"})
		if !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("err = %v, want not found", err)
		}
	})
}
