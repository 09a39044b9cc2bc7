package cluster

import (
	"slices"
	"strings"
	"testing"
)

func TestBackendSections(t *testing.T) {
	t.Run("default: one file1 backend per host", func(t *testing.T) {
		c := &Cluster{Dir: "/c", opts: Options{VolumeHosts: []string{"node1", "node2"}}}
		var b strings.Builder
		c.writeBackendSections(&b, "node2")
		if want := "\n[file1]\nvolume_driver = localfile\nvolume_backend_name = file1\nlocal_volume_dir = /c/vols-node2\n"; b.String() != want {
			t.Errorf("sections:\n%s\nwant:\n%s", b.String(), want)
		}
		opts := map[string]string{}
		c.addVolumeOptions("node2", opts)
		if opts["enabled_backends"] != "file1" || len(opts) != 1 {
			t.Errorf("[DEFAULT] options %v, want only enabled_backends = file1", opts)
		}
		if got := c.BackendHosts(); !slices.Equal(got, []string{"node1@file1", "node2@file1"}) {
			t.Errorf("BackendHosts = %v", got)
		}
	})
	t.Run("Volumes: backends, zone and options per process", func(t *testing.T) {
		specs := []VolumeSpec{
			{Host: "block1"},
			{Host: "block2", Zone: "az1", Extra: map[string]string{"debug": "false"}, Backends: []BackendSpec{
				{Name: "b21", Options: map[string]string{"volume_backend_name": "lvm", "local_capacity_gb": "50"}},
				{Name: "b22"},
			}},
		}
		c := &Cluster{Dir: "/c", opts: Options{Volumes: specs, VolumeHosts: volumeHostsOf(specs)}}
		var b strings.Builder
		c.writeBackendSections(&b, "block2")
		want := "\n[b21]\nvolume_driver = localfile\nvolume_backend_name = lvm\nlocal_volume_dir = /c/vols-block2@b21\nlocal_capacity_gb = 50\n" +
			"\n[b22]\nvolume_driver = localfile\nvolume_backend_name = b22\nlocal_volume_dir = /c/vols-block2@b22\n"
		if b.String() != want {
			t.Errorf("sections:\n%s\nwant:\n%s", b.String(), want)
		}
		opts := map[string]string{"debug": "true"}
		c.addVolumeOptions("block2", opts)
		if opts["enabled_backends"] != "b21,b22" || opts["storage_availability_zone"] != "az1" || opts["debug"] != "false" {
			t.Errorf("[DEFAULT] options %v", opts)
		}
		if got := c.BackendHosts(); !slices.Equal(got, []string{"block1@file1", "block2@b21", "block2@b22"}) {
			t.Errorf("BackendHosts = %v", got)
		}
	})
}
