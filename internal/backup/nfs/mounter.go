package nfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	nfsvol "github.com/scoria/scoria/internal/backend/nfs"
	"github.com/scoria/scoria/internal/volumeio"
)

// MounterOptions are the backup service's mount settings, under Cinder's option names.
type MounterOptions struct {
	// Base is backup_mount_point_base: shares are mounted at Base/<md5 of the share>.
	Base string
	// MountOptions is backup_mount_options (as mount -o takes them): used for a share
	// mounted without options of its own.
	MountOptions string
	// Attempts is backup_mount_attempts (at least 1).
	Attempts int
	// TestExports is scoria_test_nfs_exports: when set, shares are reached through the
	// TEST STAND-IN for the kernel NFS client ("host:/export=/exported/dir" items). Never
	// set in production.
	TestExports []string
	Log         logrus.FieldLogger
}

// shareMounter mounts shares under a base directory through the NFS volume driver's
// Mounter, one mount at a time (Cinder's mount-nfs-share lock).
type shareMounter struct {
	base    string
	mounter nfsvol.Mounter
	log     logrus.FieldLogger
	mu      sync.Mutex
}

// NewShareMounter answers the mounter of o: the kernel's NFS client through mount(8),
// or, with TestExports, the bind-mount TEST STAND-IN.
func NewShareMounter(o MounterOptions) (volumeio.ShareMounter, error) {
	return newShareMounter(o, execRun)
}

func newShareMounter(o MounterOptions, run nfsvol.Runner) (*shareMounter, error) {
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	if strings.TrimSpace(o.Base) == "" {
		return nil, fmt.Errorf("backup_mount_point_base is not set")
	}
	base, err := filepath.Abs(o.Base)
	if err != nil {
		return nil, fmt.Errorf("backup_mount_point_base %q: %w", o.Base, err)
	}
	if len(o.TestExports) > 0 {
		exports, err := nfsvol.ParseSubstituteExports(o.TestExports)
		if err != nil {
			return nil, err
		}
		log.WithField("shares", len(exports)).Warn("NFS shares are reached by bind mounts of their exported directories: " +
			nfsvol.SubstituteOption + " is the TEST STAND-IN for the kernel NFS client, never for production")
		return &shareMounter{base: base, mounter: &nfsvol.BindMounter{Exports: exports, Run: run}, log: log}, nil
	}
	sm := &nfsvol.SystemMounter{Run: run, MountOptions: o.MountOptions, Attempts: max(o.Attempts, 1), Wait: time.Second}
	if err := sm.Installed(); err != nil {
		log.WithError(err).Warn("NFS shares cannot be mounted on this host")
	}
	return &shareMounter{base: base, mounter: sm, log: log}, nil
}

// MountShare mounts share (host:/path) with options (a share line's, e.g. "-o vers=3";
// "" for backup_mount_options) at base/<md5 of share>, reusing a mount already there,
// and answers that directory.
func (m *shareMounter) MountShare(ctx context.Context, share, options string) (string, error) {
	s := nfsvol.Share{Address: strings.TrimSpace(share), Options: strings.TrimSpace(options)}
	if h, p, ok := strings.Cut(s.Address, ":/"); !ok || h == "" || p == "" { // Cinder's ^.+:/.+$
		return "", fmt.Errorf("NFS share %q is not of the form host:/path", share)
	}
	dir := nfsvol.MountPoint(m.base, s)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mounter.Mount(ctx, s, dir); err != nil {
		return "", fmt.Errorf("mounting NFS share %s at %s: %w", s.Address, dir, err)
	}
	m.log.WithFields(logrus.Fields{"share": s.Address, "mount_point": dir}).Debug("NFS share mounted")
	return dir, nil
}

// execRun runs a command with LC_ALL=C and answers its combined output.
func execRun(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	return cmd.CombinedOutput()
}
