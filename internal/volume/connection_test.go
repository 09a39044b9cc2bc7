package volume

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/pkg/driver"
)

// recordingExporter is a stand-in target helper that records what it was asked (the real
// tgtadm helper is tested in internal/target); it lets this test check the manager's choice.
type recordingExporter struct{ exported, unexported []string }

func (r *recordingExporter) Export(_ context.Context, v driver.Volume, path string, _ driver.Connector, mode string) (driver.ConnectionInfo, error) {
	r.exported = append(r.exported, v.ID+" "+filepath.Base(path)+" "+mode)
	return driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_lun": 1}}, nil
}

func (r *recordingExporter) Unexport(_ context.Context, v driver.Volume) error {
	r.unexported = append(r.unexported, v.ID)
	return nil
}

func TestInitializeConnection(t *testing.T) {
	ctx := context.Background()
	t.Run("local file without a target: os-brick's local connection, over the bus", func(t *testing.T) {
		f := newFixture(t)
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go f.bus.Serve(sctx, rpc.Target{Topic: rpc.TopicVolume, Server: f.m.Host}, f.m.Handle)
		v := f.volume(resource.StatusAvailable, f.m.Host+"#file", 1)
		var reply message.ConnectionReply
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := f.bus.Call(cctx, message.VolumeTarget(f.m.Host), message.InitializeConnection,
			message.ConnectionArgs{VolumeID: v.ID, Connector: driver.Connector{"host": "h"}}, &reply); err != nil {
			t.Fatal(err)
		}
		info := reply.ConnectionInfo
		if info.DriverVolumeType != "local" || info.Data["device_path"] != f.drv.DevicePath(driverVolume(v)) ||
			info.Data["volume_id"] != v.ID || info.Data["access_mode"] != "rw" || info.Data["encrypted"] != false {
			t.Errorf("connection info %+v", info)
		}
	})
	t.Run("local file with a target helper", func(t *testing.T) {
		f := newFixture(t)
		exp := &recordingExporter{}
		f.m.Target = exp
		v := f.volume(resource.StatusAvailable, f.m.Host+"#file", 1)
		reply, err := f.m.InitializeConnection(ctx, message.ConnectionArgs{VolumeID: v.ID, AccessMode: "ro"})
		if err != nil {
			t.Fatal(err)
		}
		if reply.ConnectionInfo.DriverVolumeType != "iscsi" || reply.ConnectionInfo.Data["access_mode"] != "ro" ||
			len(exp.exported) != 1 || exp.exported[0] != v.ID+" volume-"+v.ID+" ro" {
			t.Errorf("reply %+v, exported %v", reply, exp.exported)
		}
		if err := f.m.TerminateConnection(ctx, message.ConnectionArgs{VolumeID: v.ID}); err != nil || len(exp.unexported) != 0 {
			t.Errorf("terminate without remove_export: %v, unexported %v", err, exp.unexported)
		}
		if err := f.m.TerminateConnection(ctx, message.ConnectionArgs{VolumeID: v.ID, RemoveExport: true}); err != nil ||
			len(exp.unexported) != 1 {
			t.Errorf("terminate with remove_export: %v, unexported %v", err, exp.unexported)
		}
	})
	t.Run("unknown volume", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.m.InitializeConnection(ctx, message.ConnectionArgs{VolumeID: "00000000-0000-0000-0000-000000000000"})
		if !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("err = %v, want not found", err)
		}
	})
}
