package nfs

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// linkMounter is a TEST STAND-IN for the NFS mount in unit tests: the mount point becomes a
// symbolic link to a local directory, so the driver's code after the mount runs unchanged on
// plain files. The tests against the real NFS server use BindMounter and the server as judge.
type linkMounter struct{ dirs map[string]string }

func (m linkMounter) Mount(_ context.Context, s Share, mp string) error {
	dir, ok := m.dirs[s.Address]
	if !ok {
		return fmt.Errorf("no directory for %s", s.Address)
	}
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	if target, err := os.Readlink(mp); err == nil && target == dir {
		return nil
	}
	os.Remove(mp)
	return os.Symlink(dir, mp)
}

func (m linkMounter) Check(_ context.Context, s Share, mp string) error {
	_, err := os.Stat(mp + "/")
	return err
}

// localDriver is a driver on two shares backed by directories of the test's own.
func localDriver(t *testing.T, qcow2, snapshots, sparse bool) (*Driver, map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is needed under CI=true (Debian: qemu-utils)")
		}
		t.Skip("qemu-img is not installed (Debian: qemu-utils)")
	}
	root := t.TempDir()
	dirs := map[string]string{}
	var shares []Share
	for _, e := range []string{"export1", "export2"} {
		dir := filepath.Join(root, e)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := Share{Address: "192.0.2.1:/" + e}
		dirs[s.Address] = dir
		shares = append(shares, s)
	}
	return &Driver{
		BackendName: "nfs", Shares: shares, Base: filepath.Join(root, "mnt"), Mounter: linkMounter{dirs},
		Sparse: sparse, QCOW2: qcow2, SnapshotSupport: snapshots,
		SecureOperations: SecureAuto, SecurePermissions: SecureAuto, OverSub: "20.0",
	}, dirs
}

// qemuProbe reads and writes volumes through qemu-io on their active file, whatever its
// format and chain: what a hypervisor sees.
func qemuProbe(d **Driver) drivertest.Probe {
	where := func(ctx context.Context, v driver.Volume) (string, string, error) {
		s, found, err := (*d).locate(ctx, v)
		if err != nil || !found {
			return "", "", fmt.Errorf("volume %s not found (%v)", v.ID, err)
		}
		active, format, _, err := (*d).active(ctx, s, v)
		return filepath.Join((*d).mountPoint(s), active), format, err
	}
	return drivertest.Probe{
		Size: func(ctx context.Context, v driver.Volume) (int64, error) {
			path, format, err := where(ctx, v)
			if err != nil {
				return 0, err
			}
			ii, err := (*d).imageInfo(ctx, path, driver.StorageName(v.ID), format)
			return ii.VirtualSize, err
		},
		ReadAt: func(ctx context.Context, v driver.Volume, p []byte, off int64) error {
			path, format, err := where(ctx, v)
			if err != nil {
				return err
			}
			out, err := exec.CommandContext(ctx, "qemu-io", "-r", "-f", format, "-c", fmt.Sprintf("read -v %d %d", off, len(p)), path).CombinedOutput()
			if err != nil {
				return fmt.Errorf("qemu-io read: %v: %s", err, out)
			}
			got, err := parseHexdump(out)
			if err != nil {
				return err
			}
			if len(got) != len(p) {
				return fmt.Errorf("qemu-io read %d bytes, want %d", len(got), len(p))
			}
			copy(p, got)
			return nil
		},
		WriteAt: func(ctx context.Context, v driver.Volume, p []byte, off int64) error {
			path, format, err := where(ctx, v)
			if err != nil {
				return err
			}
			src := filepath.Join(os.TempDir(), "scoria-nfs-probe-"+v.ID)
			if err := os.WriteFile(src, p, 0o600); err != nil {
				return err
			}
			defer os.Remove(src)
			out, err := exec.CommandContext(ctx, "qemu-io", "-f", format, "-c", fmt.Sprintf("write -s %s %d %d", src, off, len(p)), path).CombinedOutput()
			if err != nil {
				return fmt.Errorf("qemu-io write: %v: %s", err, out)
			}
			return nil
		},
	}
}

// parseHexdump reads qemu-io's "read -v" dump: "00000000:  41 41 … 41  AAAA…" lines.
func parseHexdump(out []byte) ([]byte, error) {
	var b bytes.Buffer
	for _, line := range strings.Split(string(out), "\n") {
		addr, rest, ok := strings.Cut(line, ":  ")
		if !ok || len(addr) != 8 {
			continue
		}
		if _, err := strconv.ParseUint(addr, 16, 64); err != nil {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if len(f) != 2 {
				break // the ASCII column
			}
			x, err := hex.DecodeString(f)
			if err != nil {
				break
			}
			b.Write(x)
		}
	}
	return b.Bytes(), nil
}

// TestConformance runs the driver conformance suite on directories standing in for mounted
// shares, for every volume format.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name                     string
		qcow2, snapshots, sparse bool
	}{
		{"raw-sparse-snapshots", false, true, true},
		{"raw-thick-snapshots", false, true, false},
		{"qcow2-snapshots", true, true, true},
		{"raw-no-snapshots", false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d *Driver
			s := drivertest.Suite{
				New: func(t *testing.T) driver.Driver {
					d, _ = localDriver(t, c.qcow2, c.snapshots, c.sparse)
					return d
				},
				Probe:    qemuProbe(&d),
				Protocol: "nfs",
				Workers:  4,
			}
			if !c.snapshots {
				s.Skip = map[string]string{}
				for _, n := range []string{drivertest.TestSnapshot, drivertest.TestVolumeFromSnapshot, drivertest.TestRevert} {
					s.Skip[n] = "nfs_snapshot_support = false"
				}
			}
			drivertest.Run(t, s)
		})
	}
}
