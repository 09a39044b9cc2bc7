package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PrivateMountNamespace is the VolumeSpec.Wrap that runs a volume process in a mount namespace
// of its own whose mounts do not propagate back (unshare -m --propagation private): what the
// NFS driver's bind-mount TEST STAND-IN mounts dies with the process, and a kill -9 leaves no
// mount behind on the machine. unshare execs the binary, so the process keeps its pid. Root only.
var PrivateMountNamespace = []string{"unshare", "-m", "--propagation", "private", "--"}

// NFSBackend is a backend section of Cinder's NfsDriver on the test NFS server of
// deploy/nfs/nfs-up.sh, as a cinder.conf would hold it.
type NFSBackend struct {
	Name string // the section and its volume_backend_name [nfs]
	// Shares are the shares of nfs_shares_config, one per line ("127.0.0.1:/export1").
	Shares []string
	// Exports are the items of scoria_test_nfs_exports ("127.0.0.1:/export1=/tmp/scoria-nfs/export1"):
	// the TEST STAND-IN mount (a bind mount of the exported directory, after the real server
	// answered the share's MOUNT). Empty: the production mount -t nfs.
	Exports []string
	// SharesFile is where nfs_shares_config is written; required (the cluster directory does not
	// exist before Start).
	SharesFile string
	// Options are more options of the section (they win over the ones NFSVolumeSpec writes).
	Options map[string]string
}

// NFSVolumeSpec writes b's shares file and returns the VolumeSpec of a volume process on host
// serving b as cinder.volume.drivers.nfs.NfsDriver with snapshots on (nfs_snapshot_support =
// true, nas_secure_file_operations = false), its shares mounted under $state_path/mnt (inside
// the cluster directory), in a private mount namespace (PrivateMountNamespace).
func NFSVolumeSpec(host string, b NFSBackend) (VolumeSpec, error) {
	if b.Name == "" {
		b.Name = "nfs"
	}
	if len(b.Shares) == 0 {
		return VolumeSpec{}, errors.New("cluster: NFSBackend needs at least one share")
	}
	if b.SharesFile == "" {
		return VolumeSpec{}, errors.New("cluster: NFSBackend.SharesFile is required")
	}
	if err := os.MkdirAll(filepath.Dir(b.SharesFile), 0o755); err != nil {
		return VolumeSpec{}, fmt.Errorf("cluster: directory of the NFS shares file: %w", err)
	}
	content := "# Written by test/cluster: the shares of backend " + b.Name + ".\n" + strings.Join(b.Shares, "\n") + "\n"
	if err := os.WriteFile(b.SharesFile, []byte(content), 0o644); err != nil {
		return VolumeSpec{}, fmt.Errorf("cluster: write the NFS shares file: %w", err)
	}
	opts := map[string]string{
		"volume_driver":              "cinder.volume.drivers.nfs.NfsDriver",
		"volume_backend_name":        b.Name,
		"nfs_shares_config":          b.SharesFile,
		"nfs_mount_point_base":       "$state_path/mnt",
		"nfs_snapshot_support":       "true",
		"nas_secure_file_operations": "false",
	}
	if len(b.Exports) > 0 {
		opts["scoria_test_nfs_exports"] = strings.Join(b.Exports, ",")
	}
	for k, v := range b.Options {
		opts[k] = v
	}
	return VolumeSpec{
		Host:     host,
		Backends: []BackendSpec{{Name: b.Name, Options: opts}},
		Wrap:     PrivateMountNamespace,
	}, nil
}
