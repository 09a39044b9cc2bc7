package volume

import (
	"reflect"
	"sort"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/rpcapi"
)

// TestRoutes: a backend's queue serves every method of the volume service's contract.
func TestRoutes(t *testing.T) {
	m := &Manager{Host: "node1@file", Log: logrus.New()}
	want := []string{
		rpcapi.CreateVolume, rpcapi.DeleteVolume, rpcapi.ExtendVolume, rpcapi.RevertToSnapshot, rpcapi.PublishCapabilities,
		rpcapi.CreateSnapshot, rpcapi.DeleteSnapshot, rpcapi.InitializeConnection, rpcapi.TerminateConnection,
		rpcapi.CreateGroup, rpcapi.DeleteGroup, rpcapi.UpdateGroup, rpcapi.CreateGroupSnapshot, rpcapi.DeleteGroupSnapshot,
		rpcapi.CopyVolumeToImage, rpcapi.ReimageVolume, rpcapi.GetBackupDevice, rpcapi.RemoveBackupDevice,
	}
	sort.Strings(want)
	if got := m.Routes().Methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}
