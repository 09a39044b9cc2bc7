package nfs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ParseSubstituteExports reads the items of scoria_test_nfs_exports (SubstituteOption),
// "host:/export=/exported/dir", into a map from share address to the directory the NFS server
// exports for it. It refuses an item without "=", a share not of the form address:/export, a
// relative directory and a share listed twice, naming the item.
func ParseSubstituteExports(items []string) (map[string]string, error) {
	out := make(map[string]string, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		addr, dir, ok := strings.Cut(item, "=")
		addr, dir = strings.TrimSpace(addr), strings.TrimSpace(dir)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s item %d %q: want host:/export=/exported/dir", SubstituteOption, i+1, item)
		case !shareFormat.MatchString(addr):
			return nil, fmt.Errorf("%s item %d %q: share %q is not of the form address:/export", SubstituteOption, i+1, item, addr)
		case !filepath.IsAbs(dir):
			return nil, fmt.Errorf("%s item %d %q: exported directory %q is not an absolute path", SubstituteOption, i+1, item, dir)
		}
		if _, dup := out[addr]; dup {
			return nil, fmt.Errorf("%s item %d %q: share %s is already listed", SubstituteOption, i+1, item, addr)
		}
		out[addr] = filepath.Clean(dir)
	}
	return out, nil
}

// DefaultProbeTimeout bounds BindMounter's question to the NFS server when Timeout is zero.
const DefaultProbeTimeout = 10 * time.Second

// BindMounter is the TEST STAND-IN for SystemMounter on a machine without a kernel NFS client
// (this project's test machines: /proc/filesystems has no nfs, so `mount -t nfs` cannot work).
// It keeps what can be kept real: before mounting, and at every Check, the real NFS server
// must answer the share's MOUNT over RPC (`nfs-ls nfs://host/export` of libnfs-utils: MOUNT
// and READDIR over NFSv3); then, instead of an NFS mount, it bind-mounts the directory that
// server exports for the share (Exports, from scoria_test_nfs_exports) at the mount point, so
// that the driver's files land in the export and the server sees them. It is not for
// production: it needs the exported directory on the same machine.
type BindMounter struct {
	// Exports maps a share's address to its exported directory (ParseSubstituteExports).
	Exports map[string]string
	// Run runs nfs-ls, mount --bind and umount; nil runs them with os/exec.
	Run Runner
	// Mounts is the mount table read to find a mount point in use: /proc/self/mounts when nil.
	Mounts func() (io.ReadCloser, error)
	// Timeout bounds each question to the NFS server: DefaultProbeTimeout when zero.
	Timeout time.Duration
}

var _ Mounter = (*BindMounter)(nil)

// ProbeCommand is the command that asks the share's server for its MOUNT (and a READDIR).
func ProbeCommand(share Share) []string {
	host, export := splitAddress(share.Address)
	return []string{"nfs-ls", "nfs://" + host + export}
}

// splitAddress splits "host:/export" at the first ":/" ("[::1]:/export" keeps its brackets).
func splitAddress(addr string) (host, export string) {
	if i := strings.Index(addr, ":/"); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}

// Mount proves that the real server exports share (its MOUNT succeeds), then, unless the mount
// table already shows a mount at mountPoint (reused), makes mountPoint and runs
// `mount --bind <exported dir> <mountPoint>`.
func (m *BindMounter) Mount(ctx context.Context, share Share, mountPoint string) error {
	dir, err := m.exported(share)
	if err != nil {
		return err
	}
	if err := m.probe(ctx, share); err != nil {
		return err
	}
	mounted, err := m.mounted(mountPoint)
	if err != nil {
		return err
	}
	if mounted {
		return nil
	}
	if err := os.MkdirAll(mountPoint, 0o750); err != nil {
		return fmt.Errorf("mount point of %s: %w", share.Address, err)
	}
	if out, err := m.run(ctx, "mount", "--bind", dir, mountPoint); err != nil {
		return fmt.Errorf("bind-mount %s (exported directory of %s) at %s: %w: %s", dir, share.Address, mountPoint, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Check reports whether share's server answers MOUNT now (bounded by ctx and Timeout), the
// mount table still shows the bind mount at mountPoint, and mountPoint answers statfs.
func (m *BindMounter) Check(ctx context.Context, share Share, mountPoint string) error {
	if _, err := m.exported(share); err != nil {
		return err
	}
	if err := m.probe(ctx, share); err != nil {
		return err
	}
	mounted, err := m.mounted(mountPoint)
	if err != nil {
		return err
	}
	if !mounted {
		return fmt.Errorf("%s is not mounted at %s (bind mount of its exported directory gone)", share.Address, mountPoint)
	}
	return statfsWithin(ctx, mountPoint)
}

// Unmount removes the bind mount at mountPoint (`umount <mountPoint>`).
func (m *BindMounter) Unmount(ctx context.Context, mountPoint string) error {
	if out, err := m.run(ctx, "umount", mountPoint); err != nil {
		return fmt.Errorf("umount %s: %w: %s", mountPoint, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (m *BindMounter) exported(share Share) (string, error) {
	dir, ok := m.Exports[share.Address]
	if !ok {
		return "", fmt.Errorf("share %s has no exported directory in %s (the test stand-in for an NFS mount)", share.Address, SubstituteOption)
	}
	return dir, nil
}

// probe runs ProbeCommand, bounded by ctx and Timeout.
func (m *BindMounter) probe(ctx context.Context, share Share) error {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, export := splitAddress(share.Address)
	cmd := ProbeCommand(share)
	out, err := m.run(ctx, cmd[0], cmd[1:]...)
	if err != nil {
		if ctx.Err() != nil { // killed: say so rather than "signal: killed"
			err = fmt.Errorf("no answer: %w", ctx.Err())
		}
		return fmt.Errorf("NFS server %s does not answer MOUNT for %s: %s: %w: %s", host, export, strings.Join(cmd, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (m *BindMounter) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if m.Run != nil {
		return m.Run(ctx, name, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	return cmd.CombinedOutput()
}

// mounted reports whether the mount table shows any mount at mountPoint: a bind mount is
// listed under the device of the directory bound, not the share, so the mount point decides.
func (m *BindMounter) mounted(mountPoint string) (bool, error) {
	open := m.Mounts
	if open == nil {
		open = func() (io.ReadCloser, error) { return os.Open("/proc/self/mounts") }
	}
	f, err := open()
	if err != nil {
		return false, fmt.Errorf("read the mount table: %w", err)
	}
	defer f.Close()
	want := filepath.Clean(mountPoint)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.ReplaceAll(fields[1], `\040`, " ") == want {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read the mount table: %w", err)
	}
	return false, nil
}
