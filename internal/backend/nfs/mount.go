package nfs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Mounter makes a share's exported directory reachable at a mount point. In production it is
// SystemMounter (the kernel's NFS client through mount(8)); tests on a machine without an NFS
// client substitute a mount this machine allows, and everything after the mount runs the
// driver's real code on plain paths.
type Mounter interface {
	// Mount mounts share at mountPoint; a share already mounted there is reused.
	Mount(ctx context.Context, share Share, mountPoint string) error
	// Check reports whether share, mounted at mountPoint, answers now: nil when it does, else
	// why not (not mounted, the server gone). It returns when ctx ends, whatever the server.
	Check(ctx context.Context, share Share, mountPoint string) error
}

// Runner runs one command and returns its combined output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// SystemMounter mounts shares with `mount -t nfs`, as os-brick's RemoteFsClient does: the
// mount options are the share line's own, else the backend's nfs_mount_options (as -o);
// Attempts (nfs_mount_attempts, at least 1) tries, Wait apart.
type SystemMounter struct {
	Run          Runner
	MountOptions string // nfs_mount_options, without "-o"
	Attempts     int
	Wait         time.Duration
	// Mounts is the mount table read to find a share already mounted: /proc/mounts when nil.
	Mounts func() (io.ReadCloser, error)
}

// Command returns the mount command for share at mountPoint.
func (m *SystemMounter) Command(share Share, mountPoint string) []string {
	cmd := []string{"mount", "-t", "nfs"}
	switch {
	case share.Options != "":
		cmd = append(cmd, strings.Fields(share.Options)...)
	case strings.TrimSpace(m.MountOptions) != "":
		cmd = append(cmd, "-o", strings.TrimSpace(m.MountOptions))
	}
	return append(cmd, share.Address, mountPoint)
}

// Mount mounts share unless the mount table shows it mounted at mountPoint already; it makes
// mountPoint first. Each failed attempt's output is kept: the error names them all.
func (m *SystemMounter) Mount(ctx context.Context, share Share, mountPoint string) error {
	mounted, err := m.mounted(share, mountPoint)
	if err != nil {
		return err
	}
	if mounted {
		return nil
	}
	if err := os.MkdirAll(mountPoint, 0o750); err != nil {
		return fmt.Errorf("mount point of %s: %w", share.Address, err)
	}
	cmd := m.Command(share, mountPoint)
	attempts := max(m.Attempts, 1)
	var last error
	for i := 1; i <= attempts; i++ {
		out, err := m.Run(ctx, cmd[0], cmd[1:]...)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%s (attempt %d of %d): %w: %s", strings.Join(cmd, " "), i, attempts, err, strings.TrimSpace(string(out)))
		if i < attempts {
			select {
			case <-ctx.Done():
				return fmt.Errorf("mount %s: %w (after: %v)", share.Address, ctx.Err(), last)
			case <-time.After(m.Wait):
			}
		}
	}
	return last
}

// mounted reports whether the mount table has share mounted at mountPoint.
func (m *SystemMounter) mounted(share Share, mountPoint string) (bool, error) {
	open := m.Mounts
	if open == nil {
		open = func() (io.ReadCloser, error) { return os.Open("/proc/mounts") }
	}
	f, err := open()
	if err != nil {
		return false, fmt.Errorf("read the mount table: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// device mountpoint type …; /proc/mounts writes a space in a path as \040.
		if len(fields) >= 3 && strings.HasPrefix(fields[2], "nfs") &&
			strings.ReplaceAll(fields[0], `\040`, " ") == share.Address &&
			strings.ReplaceAll(fields[1], `\040`, " ") == mountPoint {
			return true, nil
		}
	}
	return false, sc.Err()
}

// Check reports whether the mount table shows share mounted at mountPoint and the mounted file
// system answers statfs before ctx ends (a hard NFS mount whose server is gone blocks: the
// call is left behind in its goroutine and the share reported down).
func (m *SystemMounter) Check(ctx context.Context, share Share, mountPoint string) error {
	mounted, err := m.mounted(share, mountPoint)
	if err != nil {
		return err
	}
	if !mounted {
		return fmt.Errorf("%s is not mounted at %s", share.Address, mountPoint)
	}
	return statfsWithin(ctx, mountPoint)
}

// statfsWithin runs statfs on path, giving up when ctx ends.
func statfsWithin(ctx context.Context, path string) error {
	done := make(chan error, 1)
	go func() {
		var st syscall.Statfs_t
		done <- syscall.Statfs(path, &st)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("statfs %s: %w", path, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("statfs %s: no answer: %w", path, ctx.Err())
	}
}

// Installed reports whether mount.nfs, which `mount -t nfs` runs, is installed, as Cinder's
// do_setup checks (its PATH, then /sbin and /usr/sbin, where it lives for root).
func (m *SystemMounter) Installed() error {
	if _, err := exec.LookPath("mount.nfs"); err == nil {
		return nil
	}
	for _, dir := range []string{"/sbin", "/usr/sbin"} {
		if _, err := os.Stat(dir + "/mount.nfs"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("mount.nfs is not installed (Debian: nfs-common): the NFS driver mounts its shares with it")
}
