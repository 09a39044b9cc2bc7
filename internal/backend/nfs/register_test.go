package nfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// build builds volume_driver value from a section of values, as cinder.conf gives them.
func build(t *testing.T, value string, values map[string]string) (driver.Driver, error) {
	t.Helper()
	r, ok := driver.Lookup(value)
	if !ok {
		t.Fatalf("volume_driver = %s is not registered", value)
	}
	return r.New(driver.Section{Name: "nfs", File: "/etc/cinder/cinder.conf", Values: values, StatePath: "/var/lib/scoria"})
}

// TestFromOptions: Cinder's options build the driver Cinder's cinder.conf describes; what
// Cinder would not start with stops Scoria at start with the file, section, key and reason.
func TestFromOptions(t *testing.T) {
	dir := t.TempDir()
	shares := filepath.Join(dir, "nfs_shares")
	if err := os.WriteFile(shares, []byte("# two shares\n10.0.0.1:/export1\n10.0.0.2:/export\\040two -o vers=3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad_shares")
	if err := os.WriteFile(bad, []byte("10.0.0.1:/ok\nnot-a-share\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("cinder.conf", func(t *testing.T) {
		d, err := build(t, "cinder.volume.drivers.nfs.NfsDriver", map[string]string{"nfs_shares_config": shares, "nfs_qcow2_volumes": "True", "nfs_snapshot_support": "true", "nfs_mount_options": "vers=4.1"})
		if err != nil {
			t.Fatal(err)
		}
		n := d.(*Driver)
		if len(n.Shares) != 2 || n.Shares[1].Address != "10.0.0.2:/export two" || n.Shares[1].Options != "-o vers=3" {
			t.Errorf("shares %+v", n.Shares)
		}
		if n.Base != "/var/lib/scoria/mnt" || !n.QCOW2 || !n.SnapshotSupport || !n.Sparse || n.SecureOperations != SecureAuto {
			t.Errorf("driver %+v", n)
		}
		m, ok := n.Mounter.(*SystemMounter)
		if !ok || m.MountOptions != "vers=4.1" || m.Attempts != 3 {
			t.Errorf("mounter %#v, want the system's with nfs_mount_options and 3 attempts", n.Mounter)
		}
	})
	t.Run("nas_host", func(t *testing.T) {
		d, err := build(t, "nfs", map[string]string{"nas_host": "192.0.2.9", "nas_share_path": "/srv/cinder", "nas_mount_options": "vers=3", "nfs_mount_options": "vers=4", "nfs_shares_config": "/nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		n := d.(*Driver)
		if len(n.Shares) != 1 || n.Shares[0].Address != "192.0.2.9:/srv/cinder" || n.Mounter.(*SystemMounter).MountOptions != "vers=3" {
			t.Errorf("shares %+v, mounter %+v", n.Shares, n.Mounter)
		}
	})
	t.Run("substitute", func(t *testing.T) {
		d, err := build(t, "nfs", map[string]string{"nfs_shares_config": shares, SubstituteOption: "10.0.0.1:/export1=/srv/e1, 10.0.0.2:/export two=/srv/e2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := d.(*Driver).Mounter.(*BindMounter); !ok {
			t.Errorf("mounter %T, want the test stand-in *BindMounter", d.(*Driver).Mounter)
		}
	})
	for _, c := range []struct {
		name   string
		values map[string]string
		key    string
		reason string
	}{
		{"missing shares file", map[string]string{"nfs_shares_config": filepath.Join(dir, "none")}, "nfs_shares_config", "NFS config file at " + filepath.Join(dir, "none") + " doesn't exist"},
		{"no shares file", map[string]string{"nfs_shares_config": ""}, "nfs_shares_config", "no NFS config file configured"},
		{"malformed share", map[string]string{"nfs_shares_config": bad}, "nfs_shares_config", `line 2: share "not-a-share" is not of the form address:/export`},
		{"secure operations with snapshots", map[string]string{"nfs_shares_config": shares, "nfs_snapshot_support": "true", "nas_secure_file_operations": "true"}, "nas_secure_file_operations", "not supported with nas_secure_file_operations = true"},
		{"secure permissions", map[string]string{"nfs_shares_config": shares, "nas_secure_file_permissions": "maybe"}, "nas_secure_file_permissions", `"maybe" is not one of auto, true, false`},
		{"sparse", map[string]string{"nfs_shares_config": shares, "nfs_sparsed_volumes": "sometimes"}, "nfs_sparsed_volumes", "is not a boolean"},
		{"attempts", map[string]string{"nfs_shares_config": shares, "nfs_mount_attempts": "three"}, "nfs_mount_attempts", "is not an integer"},
		{"substitute without the share", map[string]string{"nfs_shares_config": shares, SubstituteOption: "10.0.0.1:/export1=/srv/e1"}, SubstituteOption, "share 10.0.0.2:/export two has no exported directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := build(t, "nfs", c.values)
			var ce *driver.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *driver.ConfigError", err)
			}
			if ce.Section != "nfs" || ce.Key != c.key || !strings.Contains(ce.Reason, c.reason) || !strings.Contains(err.Error(), "/etc/cinder/cinder.conf") {
				t.Errorf("got %q (key %s), want key %s, reason containing %q, and the file", err, ce.Key, c.key, c.reason)
			}
		})
	}
}
