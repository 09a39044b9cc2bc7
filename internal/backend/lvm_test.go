package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/backend/lvm"
	"github.com/scoria/scoria/internal/config"
)

// lvmSection loads a configuration with one LVM backend section holding extra.
func lvmSection(t *testing.T, driverName, extra string) *config.Backend {
	t.Helper()
	text := "[DEFAULT]\nenabled_backends = lvmdriver-1\n[lvmdriver-1]\nvolume_driver = " + driverName + "\n" + extra
	file := filepath.Join(t.TempDir(), "cinder.conf")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load([]string{file}, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c.Backends[0]
}

func TestNewLVM(t *testing.T) {
	for _, name := range []string{"lvm", "cinder.volume.drivers.lvm.LVMVolumeDriver"} {
		d, err := New(lvmSection(t, name, ""), "/var/lib/scoria")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := d.(*lvm.Driver)
		if got.VolumeGroup != "cinder-volumes" || got.Type != "default" || got.Clear != "zero" || got.ClearSizeMiB != 0 ||
			got.ConfFile != "/etc/cinder/lvm.conf" || got.LVMBinary != "lvm" || got.Timeout != 120*time.Second ||
			got.BackendName != "lvmdriver-1" || got.OverSub != "20.0" {
			t.Errorf("%s: defaults %+v", name, got)
		}
	}
	d, err := New(lvmSection(t, "lvm", "volume_group = vg0\nlvm_type = thin\nvolume_clear = none\nvolume_clear_size = 50\n"+
		"lvm_conf_file = None\nlvm_suppress_fd_warnings = true\nlvm_binary = /sbin/lvm\nlvm_command_timeout = 5\nreserved_percentage = 7\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*lvm.Driver); got.VolumeGroup != "vg0" || got.Type != "thin" || got.Clear != "none" || got.ClearSizeMiB != 50 ||
		got.ConfFile != "None" || !got.SuppressFDWarnings || got.LVMBinary != "/sbin/lvm" || got.Timeout != 5*time.Second || got.Reserved != 7 {
		t.Errorf("set options: %+v", got)
	}
	for _, c := range []struct{ extra, want string }{
		{"lvm_type = thick\n", "lvm_type"},
		{"volume_clear = shred\n", "volume_clear"},
		{"volume_clear_size = -1\n", "volume_clear_size"},
		{"volume_clear_size = lots\n", "volume_clear_size"},
		{"lvm_suppress_fd_warnings = maybe\n", "lvm_suppress_fd_warnings"},
		{"volume_group =\n", "volume_group"},
		{"lvm_command_timeout = 0\n", "lvm_command_timeout"},
	} {
		if _, err := New(lvmSection(t, "lvm", c.extra), ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want one naming %s", c.extra, err, c.want)
		}
	}
}
